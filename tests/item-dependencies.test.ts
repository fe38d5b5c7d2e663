import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dependencyGraph } from "../src/domain/item-dependencies.js";
import { QueueEvents } from "../src/queue/events.js";
import { JobRunner } from "../src/queue/job-runner.js";
import { type Processor, ProcessorRegistry } from "../src/queue/processor.js";
import type { JobRecord, JobStore, NewItem, NewJob } from "../src/store/job-store.js";
import { type ChatBody, type Reply, toolResults, userTask } from "./fixtures/fake-ollama.js";
import { GateProcessor } from "./fixtures/test-processors.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { BACKEND, freshLocation, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { newJob, recordingLogger, T0 } from "./helpers/memory-store.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

/** Records when each item started and ended (a counter, not a clock), and fails items with `fail: true`. */
class OrderProcessor implements Processor {
  private tick = 0;
  readonly started = new Map<string, number>();
  readonly ended = new Map<string, number>();
  constructor(private readonly ms = 5) {}
  async processItem(item: Record<string, unknown>) {
    const id = String(item.id);
    if (this.started.has(id)) throw new Error(`item ${id} ran twice`);
    this.started.set(id, ++this.tick);
    await new Promise((r) => setTimeout(r, this.ms));
    this.ended.set(id, ++this.tick);
    if (item.fail) return { status: "failed" as const, failure: "check" as const, error: "asked to fail" };
    return { status: "succeeded" as const, fields: { output: `done ${id}` } };
  }
  /** Every item that ran started after each of its dependencies ended. */
  checkOrder(items: readonly { id: string; depends_on?: string[] }[]): void {
    for (const item of items)
      for (const dep of item.depends_on ?? []) {
        const start = this.started.get(item.id);
        if (start === undefined) continue;
        expect(this.ended.get(dep), `${dep} ended before ${item.id} started`).toBeLessThan(start);
      }
  }
}

const expectedJob = (): never => {
  throw new Error("the job is not in the store");
};

const graphOf = (items: { id: string; depends_on?: string[] }[]) =>
  dependencyGraph(
    items.map((i) => ({ itemId: i.id, dependsOn: i.depends_on ?? [] })),
    new Map(items.map((i, k) => [i.id, k])),
  );

describe("the dependency graph of a job's items", () => {
  it("names an unknown id, the item itself, a duplicate, and a cycle with its items", () => {
    expect(graphOf([{ id: "a", depends_on: ["nope"] }]).issues[0]?.msg).toBe(
      "Item 'a' depends on 'nope', which is not an item of this job",
    );
    expect(graphOf([{ id: "a", depends_on: ["a"] }]).issues[0]?.msg).toBe("Item 'a' depends on itself");
    expect(graphOf([{ id: "a" }, { id: "b", depends_on: ["a", "a"] }]).issues[0]?.msg).toBe(
      "Item 'b' names dependency 'a' twice",
    );
    const cycle = graphOf([
      { id: "task1", depends_on: ["task3"] },
      { id: "task2" },
      { id: "task3", depends_on: ["task1"] },
    ]);
    expect(cycle.issues.map((i) => i.msg)).toEqual(["cycle: task1 -> task3 -> task1"]);
    const { graph, issues } = graphOf([
      { id: "a" },
      { id: "b", depends_on: ["a"] },
      { id: "c", depends_on: ["a", "b"] },
    ]);
    expect(issues).toEqual([]);
    expect(graph.deps).toEqual([null, [0], [0, 1]]);
  });

  it("checks 100,000 items in one chain (no recursion) and a cycle through all of it, named by its ends", () => {
    const n = 100_000;
    const chain = Array.from({ length: n }, (_, i) => ({
      id: `t${i}`,
      depends_on: i > 0 ? [`t${i - 1}`] : [],
    }));
    expect(graphOf(chain).issues).toEqual([]);
    chain[0]!.depends_on = [`t${n - 1}`];
    const looped = graphOf(chain).issues;
    expect(looped).toHaveLength(1);
    expect(looped[0]?.msg).toMatch(
      /^cycle: t0 -> t99999 -> t99998 -> (t\d+ -> ){7}… \(99981 more\) -> (t\d+ -> ){8}t1 -> t0$/,
    );
    expect(looped[0]?.msg.length).toBeLessThan(300);
  });
});

describe(`item dependencies, in the store (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  /** A job whose item i depends on the items at the positions deps[i]. */
  const chained = (id: string, deps: number[][], extra: Partial<NewJob> = {}): NewJob => {
    const job = newJob(id, deps.length, extra);
    job.items = job.items.map((it, i): NewItem => ({ ...it, dependsOn: deps[i] ?? [] }));
    return job;
  };

  const runner = (store: JobStore, job: JobRecord | null, p: Processor, owner: string) => {
    const registry = new ProcessorRegistry();
    registry.register("unit", p);
    return new JobRunner(
      {
        store,
        registry,
        events: new QueueEvents(),
        clock: new FakeClock(T0 * 1000),
        log: recordingLogger(),
        owner,
        workerId: owner,
        leaseMs: 30_000,
        flushMs: 5,
        flushSize: 100,
      },
      job ?? expectedJob(),
    );
  };

  it.runIf(enabled)(
    "claims never hand out a waiting item; an end releases its dependants, in order",
    async () => {
      const store = await openTestStore();
      // i1 and i2 wait for i0; i3 waits for i1 and i2.
      await store.createJob(chained("unit-deps-claim1", [[], [0], [0], [1, 2]]));
      await store.startJob("unit-deps-claim1", T0);
      const first = await store.claimItems("unit-deps-claim1", "w", 10, T0 + 30, T0);
      expect(first.map((c) => c.itemId)).toEqual(["i0"]);
      expect(await store.claimItems("unit-deps-claim1", "w", 10, T0 + 30, T0)).toEqual([]);
      // Answers say queued, never waiting; the queue depth counts them; a queued filter finds them.
      const { items } = await store.listItems("unit-deps-claim1", { limit: 10, offset: 0 });
      expect(items.map((i) => i.status)).toEqual(["running", "queued", "queued", "queued"]);
      expect(
        (await store.listItems("unit-deps-claim1", { status: "queued", limit: 10, offset: 0 })).total,
      ).toBe(3);
      expect(await store.queueDepth()).toBe(3);
      expect(await store.finalizeJob("unit-deps-claim1", T0)).toBeNull();
      const done = (key: number, attempt: number, status: "succeeded" | "failed" = "succeeded") => ({
        key,
        seq: 0,
        attempt,
        status,
        result: { status },
        error: null,
        finishedAt: T0 + 1,
      });
      await store.recordOutcomes("unit-deps-claim1", "w", [done(first[0]!.key, 1)], null);
      const second = await store.claimItems("unit-deps-claim1", "w", 10, T0 + 30, T0);
      expect(second.map((c) => c.itemId)).toEqual(["i1", "i2"]);
      expect(second.every((c) => c.depFailure === undefined)).toBe(true);
      await store.recordOutcomes("unit-deps-claim1", "w", [done(second[0]!.key, 1)], null);
      expect(await store.claimItems("unit-deps-claim1", "w", 10, T0 + 30, T0)).toEqual([]);
      await store.recordOutcomes("unit-deps-claim1", "w", [done(second[1]!.key, 1, "failed")], null);
      const last = await store.claimItems("unit-deps-claim1", "w", 10, T0 + 30, T0);
      expect(last.map((c) => [c.itemId, c.depFailure])).toEqual([["i3", "dependency i2 failed"]]);
      await store.close();
    },
  );

  it.runIf(enabled)(
    "a waiting item survives a restart and the chain resumes; a cancel cancels waiting items",
    async () => {
      const where = freshLocation();
      let store = await openTestStore(where);
      await store.createJob(chained("unit-deps-restart", [[], [0], [1]]));
      const order = new OrderProcessor(1);
      // The first item runs, then the process goes away (no runner, no finalize).
      await store.startJob("unit-deps-restart", T0);
      const [a] = await store.claimItems("unit-deps-restart", "gone", 1, T0 + 30, T0);
      await store.recordOutcomes(
        "unit-deps-restart",
        "gone",
        [{ key: a!.key, seq: 0, attempt: 1, status: "succeeded", result: {}, error: null, finishedAt: T0 }],
        null,
      );
      await store.close();
      store = await openTestStore(where);
      await runner(store, await store.getJob("unit-deps-restart"), order, "host:2").run();
      expect([...order.started.keys()]).toEqual(["i1", "i2"]);
      expect(await store.getJob("unit-deps-restart")).toMatchObject({ status: "completed", succeeded: 3 });

      await store.createJob(chained("unit-deps-cancel", [[], [0], [1]]));
      await store.startJob("unit-deps-cancel", T0);
      await store.claimItems("unit-deps-cancel", "w", 10, T0 + 30, T0);
      expect(await store.cancelJob("unit-deps-cancel", T0 + 1)).toBe("cancelled");
      const { items } = await store.listItems("unit-deps-cancel", { limit: 10, offset: 0 });
      expect(items.map((i) => i.status)).toEqual(["running", "cancelled", "cancelled"]);
      expect(await store.getJob("unit-deps-cancel")).toMatchObject({ status: "cancelled", cancelled: 2 });
      expect(await store.queueDepth()).toBe(0);
      await store.close();
    },
  );

  it.runIf(enabled)("an item given up by the lease sweep releases its dependants as failed", async () => {
    const store = await openTestStore();
    await store.createJob(chained("unit-deps-sweep01", [[], [0], [1]], { maxAttempts: 1 }));
    await store.startJob("unit-deps-sweep01", T0);
    await store.claimItems("unit-deps-sweep01", "gone", 10, T0 + 30, T0);
    expect(await store.sweepLeases(T0 + 31, [])).toMatchObject({ requeued: 0, abandoned: 1 });
    const next = await store.claimItems("unit-deps-sweep01", "w", 10, T0 + 60, T0 + 31);
    expect(next.map((c) => [c.itemId, c.depFailure])).toEqual([["i1", "dependency i0 failed"]]);
    await store.close();
  });

  it.runIf(enabled)(
    "two runners (two store connections, as two nodes) on one chained job never run an item before its dependency",
    async () => {
      const where = freshLocation();
      const one = await openTestStore(where);
      const two = await openTestStore(where);
      // Chains of 5: item i depends on i-1 unless i % 5 == 0; a few diamonds on top.
      const deps = Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? [] : [i - 1]));
      deps[59] = [4, 9, 14, 58];
      await one.createJob(chained("unit-deps-twonode", deps, { parallel: 4, chunkSize: 2 }));
      const order = new OrderProcessor(3);
      const job = await one.getJob("unit-deps-twonode");
      expect(job?.itemDependencies).toBe(true);
      await Promise.all([runner(one, job, order, "node:1").run(), runner(two, job, order, "node:2").run()]);
      // A runner may end while items wait on the other one: finish what is left the way a pool would.
      for (let k = 0; k < 20 && (await one.getJob("unit-deps-twonode"))?.status === "running"; k++)
        await runner(one, await one.getJob("unit-deps-twonode"), order, "node:1").run();
      expect(await one.getJob("unit-deps-twonode")).toMatchObject({ status: "completed", succeeded: 60 });
      order.checkOrder(deps.map((d, i) => ({ id: `i${i}`, depends_on: d.map((x) => `i${x}`) })));
      await one.close();
      await two.close();
    },
  );
});

describe(`item dependencies, through the API (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  const start = async (p: Processor): Promise<TestApp> =>
    startTestApp({ register: (r) => r.register("ordered", p) });

  const resultsOf = async (t: TestApp, id: string) => {
    const res = await t.request("GET", `/batch/jobs/${id}/results.jsonl`);
    const entries = res.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    return new Map<string, any>(entries.map((e) => [e.id, e]));
  };

  it.runIf(enabled)(
    "cycles, self-dependencies, unknown ids and bad fields are 422s naming the items; nothing is queued",
    async () => {
      const t = await start(new OrderProcessor());
      const bad: [unknown[], RegExp][] = [
        [
          [{ id: "task1", depends_on: ["task3"] }, { id: "task2" }, { id: "task3", depends_on: ["task1"] }],
          /cycle: task1 -> task3 -> task1/,
        ],
        [[{ id: "a", depends_on: ["a"] }], /Item 'a' depends on itself/],
        [[{ id: "a", depends_on: ["zz"] }], /Item 'a' depends on 'zz', which is not an item of this job/],
        [[{ id: "a", depends_on: "b" }, { id: "b" }], /depends_on must be a list/],
        [[{ id: "a", on_dependency_failure: "maybe" }], /on_dependency_failure must be one of: skip, run/],
      ];
      for (const [items, msg] of bad) {
        const res = await t.request("POST", "/batch/jobs", { type: "ordered", items });
        expect(res.status).toBe(422);
        expect(JSON.stringify(res.body.detail)).toMatch(msg);
      }
      const opt = await t.request("POST", "/batch/jobs", {
        type: "ordered",
        items: [{ id: "a" }],
        on_dependency_failure: "never",
      });
      expect(opt.status).toBe(422);
      expect((await t.request("GET", "/batch/jobs")).body.total).toBe(0);
      expect(await t.app.store.queueDepth()).toBe(0);
    },
  );

  it.runIf(enabled)(
    "with parallel 3 a dependant starts after its dependency ended; a failure skips its dependants (transitively) and only them",
    async () => {
      const order = new OrderProcessor(20);
      const t = await start(order);
      const items = [
        { id: "task1", description: "Create hello.py" },
        { id: "task2", description: "Add unit tests for hello.py", depends_on: ["task1"] },
        { id: "bad", fail: true },
        { id: "after-bad", depends_on: ["bad"] },
        { id: "after-after", depends_on: ["after-bad", "task1"] },
        { id: "anyway", depends_on: ["bad"], on_dependency_failure: "run" },
        { id: "free" },
      ];
      const res = await t.request("POST", "/batch/jobs", { type: "ordered", items, parallel: 3 });
      expect(res.status).toBe(200);
      await waitForJobEnd(t, res.body.job_id);
      const job = await t.app.store.getJob(res.body.job_id);
      order.checkOrder(items);
      expect([...order.started.keys()].sort()).toEqual(["anyway", "bad", "free", "task1", "task2"]);
      const r = await resultsOf(t, res.body.job_id);
      expect(r.get("after-bad")).toMatchObject({ status: "skipped", error: "dependency bad failed" });
      expect(r.get("after-after")).toMatchObject({
        status: "skipped",
        error: "dependency after-bad was skipped",
      });
      expect(r.get("task2")).toMatchObject({ status: "success", depends_on: ["task1"] });
      expect(r.get("anyway")?.status).toBe("success");
      expect(job).toMatchObject({ status: "failed", succeeded: 4, failed: 1, skipped: 2 });

      // The job's policy is every item's; an item's own wins.
      const opt = await t.request("POST", "/batch/jobs", {
        type: "ordered",
        on_dependency_failure: "run",
        items: [
          { id: "x", fail: true },
          { id: "y", depends_on: ["x"] },
          { id: "z", depends_on: ["x"], on_dependency_failure: "skip" },
        ],
      });
      expect(opt.status).toBe(200);
      await waitForJobEnd(t, opt.body.job_id);
      const o = await resultsOf(t, opt.body.job_id);
      expect(o.get("y")?.status).toBe("success");
      expect(o.get("z")).toMatchObject({ status: "skipped", error: "dependency x failed" });
      // A retry keeps the job's policy: y runs again after x fails again.
      order.started.clear();
      order.ended.clear();
      const again = await t.request("POST", `/batch/jobs/${opt.body.job_id}/retry`, {
        include: ["failed", "success"],
      });
      expect(again.status).toBe(200);
      await waitForJobEnd(t, again.body.job_id);
      const a = await resultsOf(t, again.body.job_id);
      expect([a.get("x")?.status, a.get("y")?.status]).toEqual(["failed", "success"]);
    },
  );

  it.runIf(enabled)("a waiting item answers queued; cancelling the job cancels it", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("gated", gate) });
    const res = await t.request("POST", "/batch/jobs", {
      type: "gated",
      items: [{ id: "a" }, { id: "b", depends_on: ["a"] }],
    });
    await gate.startedAtLeast(1);
    const items = await t.request("GET", `/batch/jobs/${res.body.job_id}/items`);
    expect(JSON.stringify(items.body)).not.toMatch(/waiting/);
    const b = (items.body.items as any[]).find((i) => i.id === "b");
    expect(b?.status).toBe("queued");
    expect((await t.request("DELETE", `/batch/jobs/${res.body.job_id}`)).status).toBeLessThan(300);
    gate.release();
    const job = await waitForJobEnd(t, res.body.job_id);
    expect(job.status).toBe("cancelled");
    const r = await resultsOf(t, res.body.job_id);
    expect(r.get("b")?.status).toBe("cancelled");
    expect(gate.started).toEqual(["a"]);
  });

  it.runIf(enabled)(
    "a retry: a dependency left out counts as met when it succeeded in the old job, else as failed",
    async () => {
      const order = new OrderProcessor(1);
      const t = await start(order);
      const res = await t.request("POST", "/batch/jobs", {
        type: "ordered",
        items: [{ id: "a" }, { id: "b", depends_on: ["a"], fail: true }, { id: "c", depends_on: ["b"] }],
      });
      await waitForJobEnd(t, res.body.job_id);
      order.started.clear();
      order.ended.clear();
      const again = await t.request("POST", `/batch/jobs/${res.body.job_id}/retry`, {
        include: ["failed", "skipped"],
      });
      expect(again.status).toBe(200);
      await waitForJobEnd(t, again.body.job_id);
      // b's dependency a succeeded before: b runs (and fails again); c waits for the new b.
      expect([...order.started.keys()]).toEqual(["b"]);
      const r = await resultsOf(t, again.body.job_id);
      expect(r.get("b")).toMatchObject({ status: "failed", error: "asked to fail" });
      expect(r.get("c")).toMatchObject({ status: "skipped", error: "dependency b failed" });
      const onlyC = await t.request("POST", `/batch/jobs/${res.body.job_id}/retry`, {
        items: ["c"],
        include: ["skipped"],
      });
      expect(onlyC.status).toBe(200);
      await waitForJobEnd(t, onlyC.body.job_id);
      expect((await resultsOf(t, onlyC.body.job_id)).get("c")).toMatchObject({
        status: "skipped",
        error: "dependency b failed",
      });
    },
  );
});

describe.each([
  ["worktree", undefined],
  ["shared", "shared"],
] as const)("the guide's example 1 with depends_on (agent tasks, isolation %s)", (label, isolation) => {
  it("task2 starts only after task1 ended, and sees hello.py", async () => {
    const ollama = await fakeOllama();
    const calls: string[] = [];
    ollama.script("qwen2.5-coder:7b", (b: ChatBody): Reply => {
      const task = userTask(b);
      const results = toolResults(b);
      const who = task.includes("Create hello.py") ? "task1" : "task2";
      calls.push(`${who}:${results.length}`);
      if (who === "task1") {
        if (results.length > 0) return { content: "Done." };
        // Slow enough that task2 would start meanwhile without its dependency (parallel 3).
        return {
          toolCalls: [{ name: "write_file", arguments: { path: "hello.py", content: HELLO } }],
          delayMs: 300,
        };
      }
      if (results.length === 0)
        return { toolCalls: [{ name: "read_file", arguments: { path: "hello.py" } }] };
      if (results.length === 1) {
        if (!String(results[0]?.content).includes("def hello")) return { content: "hello.py is missing." };
        return {
          toolCalls: [{ name: "write_file", arguments: { path: "test_hello.py", content: TEST_HELLO } }],
        };
      }
      return { content: "Done." };
    });
    const dir = tempDir();
    const root = join(dir, "project");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "README.md"), "demo\n");
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: root });
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "add", "-A"], { cwd: root });
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start"], {
      cwd: root,
    });
    const { t } = await agentApp(ollama.url, {}, dir);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [
        { id: "task1", description: "Create hello.py that prints Hello World" },
        { id: "task2", description: "Add unit tests for hello.py", depends_on: ["task1"] },
      ],
      parallel: 3,
      reviewer_model: null,
      max_loops: 6,
      ...(isolation ? { isolation } : {}),
    });
    expect(res.status).toBe(200);
    const done = await waitForJobEnd(t, res.body.job_id, 60_000);
    const byId = Object.fromEntries(done.result.results.map((r: any) => [r.id, r]));
    expect(byId.task1?.status, JSON.stringify(byId.task1)).toBe("completed");
    expect(byId.task2?.status, JSON.stringify(byId.task2)).toBe("completed");
    // Every call of task2 came after task1's last.
    const lastOfTask1 = calls.lastIndexOf("task1:1");
    expect(calls.findIndex((c) => c.startsWith("task2"))).toBeGreaterThan(lastOfTask1);
    expect(calls).toContain("task2:1");
    expect(readFileSync(join(root, "test_hello.py"), "utf8")).toContain("from hello import hello");
    expect(readFileSync(join(root, "hello.py"), "utf8")).toContain("def hello");
    if (label === "worktree") {
      // task2's workspace started from the project with task1 merged: its own change is the test alone.
      expect(byId.task2).toMatchObject({ isolation: "worktree", files_changed: ["test_hello.py"] });
      expect(byId.task2.base_commit).not.toBe(byId.task1.base_commit);
      const show = ["show", `${byId.task2.base_commit}:hello.py`];
      expect(execFileSync("git", show, { cwd: root, encoding: "utf8" })).toContain("def hello");
    }
  });
});

const HELLO = "def hello():\n    return 'Hello World'\n\n\nif __name__ == '__main__':\n    print(hello())\n";
const TEST_HELLO = "from hello import hello\n\n\ndef test_hello():\n    assert hello() == 'Hello World'\n";

describe("a dependant agent task with apply none starts from its dependencies' commits", () => {
  /** "write a.py=…" tasks write that file; a task whose description starts "list" reads the files named. */
  function script(b: ChatBody): Reply {
    const task = userTask(b);
    const results = toolResults(b);
    if (task.startsWith("write ")) {
      if (results.length > 0) return { content: "Done." };
      const at = task.indexOf("=");
      const path = task.slice(6, at);
      return { toolCalls: [{ name: "write_file", arguments: { path, content: `${task.slice(at + 1)}\n` } }] };
    }
    if (results.length === 0)
      return {
        toolCalls: task
          .slice(5)
          .split(",")
          .map((path) => ({ name: "read_file", arguments: { path } })),
      };
    if (results.length === 2 && results.every((r) => !/not found|No such|does not exist/i.test(r.content)))
      return { toolCalls: [{ name: "write_file", arguments: { path: "seen.txt", content: "both\n" } }] };
    return { content: "Done." };
  }

  async function run(tasks: Record<string, unknown>[]) {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", script);
    const dir = tempDir();
    const root = join(dir, "project");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "README.md"), "demo\n");
    const g = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: root });
    g("init", "-q", "-b", "main");
    g("add", "-A");
    g("commit", "-qm", "start");
    const { t } = await agentApp(ollama.url, {}, dir);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks,
      parallel: 3,
      reviewer_model: null,
      max_loops: 6,
      apply: "none",
    });
    expect(res.status).toBe(200);
    const done = await waitForJobEnd(t, res.body.job_id, 60_000);
    return { root, byId: Object.fromEntries(done.result.results.map((r: any) => [r.id, r])) };
  }

  it("two dependencies' commits merged: the dependant sees both files, and its own change is its file alone", async () => {
    const { root, byId } = await run([
      { id: "a", description: "write a.py=A = 1" },
      { id: "b", description: "write b.py=B = 2" },
      { id: "c", description: "list a.py,b.py", depends_on: ["a", "b"] },
    ]);
    expect(byId.c, JSON.stringify(byId.c)).toMatchObject({
      status: "completed",
      files_changed: ["seen.txt"],
    });
    const show = (what: string) => execFileSync("git", ["show", what], { cwd: root, encoding: "utf8" });
    expect(show(`${byId.c.base_commit}:a.py`)).toBe("A = 1\n");
    expect(show(`${byId.c.base_commit}:b.py`)).toBe("B = 2\n");
  });

  it("dependencies whose changes conflict fail the dependant, naming the file", async () => {
    const { byId } = await run([
      { id: "a", description: "write x.py=X = 1" },
      { id: "b", description: "write x.py=X = 2" },
      { id: "c", description: "list x.py,x.py", depends_on: ["a", "b"] },
    ]);
    expect(byId.a.status).toBe("completed");
    expect(byId.c).toMatchObject({ status: "failed", failure: "conflict" });
    expect(byId.c.error).toMatch(/dependencies \(a, b\) conflict in x\.py/);
  });
});
