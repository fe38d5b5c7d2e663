import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ChatBody, type Reply, toolResults, userTask } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import type { TestApp } from "./helpers/test-app.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";
import { threeStepPipeline } from "./helpers/workflow-pipeline.js";

const CODER = "qwen2.5-coder:7b";

/** A coder that writes two .py files and a .md in one turn, then ends its turn. */
const writesThree = (b: ChatBody): Reply =>
  toolResults(b).length === 0
    ? {
        toolCalls: [
          {
            name: "write_file",
            arguments: { path: "calc.py", content: "def add(a, b):\n    return a + b\n" },
          },
          {
            name: "write_file",
            arguments: {
              path: "test_calc.py",
              content: "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            },
          },
          { name: "write_file", arguments: { path: "NOTES.md", content: "# Calc\n" } },
        ],
      }
    : { content: "Wrote calc.py, test_calc.py and NOTES.md." };

/** The README's pipeline: implement, validate what it wrote, test it. */
const pipeline = (extra: Record<string, unknown> = {}) => ({
  ...threeStepPipeline("calc", "Write calc.py with its tests"),
  ...extra,
});

async function waitForWorkflowEnd(t: TestApp, id: string): Promise<any> {
  const wf = (await t.request("GET", `/batch/workflows/${id}`)).body;
  for (const step of wf.steps) await waitForJobEnd(t, step.job_id);
  return (await t.request("GET", `/batch/workflows/${id}`)).body;
}

describe("workflows: one job per step, wired by dependencies, fed by earlier steps' results", () => {
  it("implement -> validate (targets from files_changed, *.py) -> test, in order, and the workflow completes", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, writesThree);
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/workflows", pipeline());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "calc", status: expect.stringMatching(/queued|running/) });
    expect(res.body.steps.map((s: { id: string }) => s.id)).toEqual(["implement", "validate", "test"]);
    const [implement, validate, test] = res.body.steps as { job_id: string }[];
    // The workflow's own event stream: progress as its jobs move, then its end.
    const stream = fetch(`${t.url}/batch/workflows/${res.body.workflow_id}/events`).then((r) => r.text());
    // The later steps wait for the earlier ones (job dependencies) and have no items yet.
    const waiting = (await t.request("GET", `/batch/jobs/${validate!.job_id}?include_results=false`)).body;
    expect(waiting.status).toBe("queued");
    expect(waiting.metadata).toMatchObject({ workflow_id: res.body.workflow_id, workflow_step: "validate" });
    expect(waiting.metadata.inputs).toMatchObject({ state: "pending", source_job: implement!.job_id });
    expect(waiting).toMatchObject({ workflow_id: res.body.workflow_id, depends_on: [implement!.job_id] });

    const done = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(done.status).toBe("completed");
    expect(done.progress).toMatchObject({ steps_total: 3, steps_ended: 3, percentage: 100 });
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual([
      "completed",
      "completed",
      "completed",
    ]);

    const impl = (await t.request("GET", `/batch/jobs/${implement!.job_id}`)).body;
    expect(impl.result.results[0].files_changed.sort()).toEqual(["NOTES.md", "calc.py", "test_calc.py"]);
    const val = (await t.request("GET", `/batch/jobs/${validate!.job_id}`)).body;
    // Exactly the two .py files the agent wrote, as the validation route makes targets.
    expect(val.result.results.map((r: { path: string }) => r.path).sort()).toEqual([
      "calc.py",
      "test_calc.py",
    ]);
    expect(val.result.results.every((r: { status: string }) => r.status === "passed")).toBe(true);
    expect(val.metadata).toMatchObject({ total_targets: 2, inputs: { state: "resolved", paths: 2 } });
    expect(val.started_at).toBeGreaterThanOrEqual(impl.completed_at);
    const tst = (await t.request("GET", `/batch/jobs/${test!.job_id}`)).body;
    expect(tst.result.results.map((r: { path: string }) => r.path)).toEqual(["test_calc.py"]);
    expect(tst.started_at).toBeGreaterThanOrEqual(val.completed_at);
    expect(done.progress.items_total).toBe(4);
    expect(done.progress.items_done).toBe(4);

    const messages = (await stream).split("\n\n").filter((m) => m.startsWith("event: "));
    expect(messages.slice(0, -1).every((m) => m.startsWith("event: progress\n"))).toBe(true);
    expect(messages.at(-1)!.startsWith("event: completed\n")).toBe(true);
    expect(JSON.parse(messages.at(-1)!.split("data: ")[1]!)).toMatchObject({
      status: "completed",
      progress: { steps_ended: 3 },
    });

    const list = await t.request("GET", "/batch/workflows?limit=10");
    expect(list.body.total).toBe(1);
    expect(list.body.workflows[0]).toMatchObject({ workflow_id: res.body.workflow_id, status: "completed" });
  });

  it("a step whose source reported no matching files completes with 0 items and says why", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, writesThree);
    const { t } = await agentApp(ollama.url);
    const spec = pipeline();
    (spec.steps[1]!.inputs as { targets_from: { filter: string } }).targets_from.filter = "*.rs";
    const res = await t.request("POST", "/batch/workflows", spec);
    expect(res.status).toBe(200);
    const done = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(done.status).toBe("completed");
    const val = (await t.request("GET", `/batch/jobs/${done.steps[1].job_id}`)).body;
    expect(val.status).toBe("completed");
    expect(val.result.results).toEqual([]);
    expect(val.metadata.inputs).toMatchObject({ state: "resolved", paths: 0 });
    expect(val.metadata.inputs.note).toMatch(/no files_changed matching \*\.rs/);
    expect(done.steps[2].status).toBe("completed");
  });

  it("a failed step cancels the steps after it (with the reason) and the workflow fails", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, writesThree);
    const { t } = await agentApp(ollama.url);
    const spec = pipeline();
    Object.assign(spec.steps[0]!.body, { check_command: "false", max_loops: 1 });
    const res = await t.request("POST", "/batch/workflows", spec);
    expect(res.status).toBe(200);
    const done = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(done.status).toBe("failed");
    const [implement, validate, test] = done.steps;
    expect([implement.status, validate.status, test.status]).toEqual(["failed", "cancelled", "cancelled"]);
    expect(validate.error).toBe(`dependency ${implement.job_id} failed`);
    expect(validate.total).toBe(0);
  });

  it("DELETE cancels every step that has not ended (the running one and those waiting on it)", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, () => ({ content: "…", delayMs: 600_000 }));
    const { t } = await agentApp(ollama.url, { graceSeconds: 0.2 });
    const res = await t.request("POST", "/batch/workflows", pipeline());
    expect(res.status).toBe(200);
    await ollama.waitForRequest((s) => userTask(s.body).includes("calc.py"));
    // A WebSocket follows the workflow too: subscribed, its answer now, then its end.
    const ws = new WebSocket(`${t.url.replace("http", "ws")}/batch/ws`);
    const messages: { event: string; data: any }[] = [];
    const ended = new Promise<void>((resolve) =>
      ws.on("message", (raw) => {
        const m = JSON.parse(raw.toString());
        messages.push(m);
        if (m.event === "cancelled") resolve();
      }),
    );
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ subscribe_workflow: res.body.workflow_id }));
    await expect.poll(() => messages.some((m) => m.event === "progress")).toBe(true);
    expect(messages[0]).toEqual({ event: "subscribed", data: { workflow_id: res.body.workflow_id } });
    expect(messages[1]!.data).toMatchObject({ workflow_id: res.body.workflow_id, status: "running" });
    const del = await t.request("DELETE", `/batch/workflows/${res.body.workflow_id}`);
    expect(del.status).toBe(200);
    expect(del.body.cancelled_jobs).toContain(res.body.steps[0].job_id);
    const done = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(done.status).toBe("cancelled");
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
    // Nothing of the later steps ever ran, and a second cancel is a 409.
    expect(done.progress.items_total).toBe(1);
    expect((await t.request("DELETE", `/batch/workflows/${res.body.workflow_id}`)).status).toBe(409);
    await ended;
    ws.close();
    expect(messages.at(-1)!.data.steps.map((s: { status: string }) => s.status)).toEqual([
      "cancelled",
      "cancelled",
      "cancelled",
    ]);
  });

  it("cycles, unknown steps, inputs from a step not depended on and bad bodies are 422s naming the step; nothing is queued", async () => {
    const ollama = await fakeOllama([CODER]);
    const { t } = await agentApp(ollama.url);
    const base = pipeline();
    const cases: [unknown, RegExp][] = [
      [
        { ...base, steps: [{ ...base.steps[0], depends_on: ["test"] }, base.steps[1], base.steps[2]] },
        /cycle/,
      ],
      [
        { ...base, steps: [base.steps[0], { ...base.steps[1], depends_on: ["nope"] }] },
        /unknown step 'nope'/,
      ],
      [{ ...base, steps: [base.steps[0], base.steps[0]] }, /Duplicate step id 'implement'/],
      [
        { ...base, steps: [base.steps[0], { ...base.steps[1], depends_on: [] }] },
        /Step 'validate' reads step 'implement', which is not among the steps it depends on/,
      ],
      [
        { ...base, steps: [{ ...base.steps[0], body: { tasks: [{ id: "x" }] } }] },
        /"description"\],"msg":"step 'implement': Field required"/,
      ],
      [
        { ...base, steps: [base.steps[0], { ...base.steps[1], body: { check_command: "true", colour: 1 } }] },
        /step 'validate': .*colour/,
      ],
      [
        { ...base, steps: [base.steps[0], { ...base.steps[1], body: { targets: [{ path: "a.py" }] } }] },
        /give 'targets' or inputs.targets_from, not both/,
      ],
      [
        { ...base, steps: [base.steps[0], { ...base.steps[1], type: "tests" }] },
        /tests takes its items in 'modules'/,
      ],
      [
        {
          ...base,
          steps: [
            { ...base.steps[0], body: { ...base.steps[0]!.body, depends_on: ["batch_x-000000000000"] } },
          ],
        },
        /step 'implement': Unknown job 'batch_x-000000000000'/,
      ],
      [
        { ...base, steps: [{ ...base.steps[0], body: { ...base.steps[0]!.body, idempotency_key: "k1" } }] },
        /step 'implement': a step's body takes no idempotency_key/,
      ],
      [
        { ...base, steps: [{ ...base.steps[0], body: { ...base.steps[0]!.body, type: "batch_tests" } }] },
        /step 'implement': the step's type is 'agent': leave type out of its body/,
      ],
    ];
    for (const [body, msg] of cases) {
      const res = await t.request("POST", "/batch/workflows", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(JSON.stringify(res.body.detail)).toMatch(msg);
    }
    const bad = await t.request("POST", "/batch/workflows", cases[4]![0]);
    expect(bad.body.detail[0].loc.slice(0, 4)).toEqual(["body", "steps", 0, "body"]);
    expect((await t.request("GET", "/batch/jobs")).body.total).toBe(0);
    expect((await t.request("GET", "/batch/workflows")).body.total).toBe(0);
    expect((await t.request("GET", "/batch/workflows/workflow-nope")).status).toBe(404);
  });

  it("Idempotency-Key: the same request answers the first workflow; a different one is a 409", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, () => ({ content: "…", delayMs: 600_000 }));
    const { t } = await agentApp(ollama.url, { graceSeconds: 0.2 });
    const key = { "idempotency-key": "calc-1" };
    const first = await t.request("POST", "/batch/workflows", pipeline(), key);
    const again = await t.request("POST", "/batch/workflows", pipeline(), key);
    expect(first.status).toBe(200);
    expect(again.body.workflow_id).toBe(first.body.workflow_id);
    expect((await t.request("GET", "/batch/jobs")).body.total).toBe(3);
    const other = await t.request("POST", "/batch/workflows", pipeline({ name: "other" }), key);
    expect(other.status).toBe(409);
    expect(other.body.detail).toContain(`different request (workflow ${first.body.workflow_id})`);
  });

  it("a step the database cannot take midway: a 503, and the steps already stored are cancelled, not run alone", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, () => ({ content: "…", delayMs: 600_000 }));
    const { t } = await agentApp(ollama.url, { graceSeconds: 0.2 });
    const store = t.app.store;
    const createJob = store.createJob.bind(store);
    let calls = 0;
    store.createJob = async (job) => {
      if (++calls === 2) throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
      return createJob(job);
    };
    const res = await t.request("POST", "/batch/workflows", pipeline());
    expect(res.status).toBe(503);
    store.createJob = createJob;
    const { jobs } = (await t.request("GET", "/batch/jobs")).body;
    expect(jobs).toHaveLength(1); // the first step, stored before the fault
    expect(jobs[0]).toMatchObject({ status: "cancelled", metadata: { workflow_step: "implement" } });
  });

  it("a step of a type without a route of its own takes POST /batch/jobs's body; the workflow goes with its last job", async () => {
    const quick = {
      async processItem() {
        return { status: "succeeded" as const };
      },
    };
    const t = await startTestApp({ register: (r) => r.register("quick", quick) });
    const res = await t.request("POST", "/batch/workflows", {
      name: "two quick steps",
      steps: [
        { id: "a", type: "quick", body: { items: [{ id: "x" }], parallel: 2 } },
        { id: "b", type: "quick", depends_on: ["a"], body: { items: [{ id: "y" }, { id: "z" }] } },
      ],
    });
    expect(res.status).toBe(200);
    const ended = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(ended).toMatchObject({ status: "completed" });
    const b = (await t.request("GET", `/batch/jobs/${ended.steps[1].job_id}`)).body;
    expect(b.result.summary).toMatchObject({ total: 2, successful: 2 });
    // A workflow made just now is not dropped while its jobs are there; once they are all deleted, it goes.
    const cleaned = await t.request("POST", "/batch/cleanup", { older_than_days: 0 });
    expect(cleaned.body.deleted).toBe(2);
    expect((await t.request("GET", `/batch/workflows/${res.body.workflow_id}`)).status).toBe(404);
    expect((await t.request("GET", "/batch/workflows")).body.total).toBe(0);
  });

  it("a filter that would make a backtracking glob take years is matched at once; a filter that is no glob is a 422", async () => {
    const emit = {
      async processItem(item: Record<string, unknown>) {
        return { status: "succeeded" as const, fields: { files_changed: item.files as string[] } };
      },
    };
    const t = await startTestApp({ register: (r) => r.register("emit", emit) });
    const long = `src/${"a".repeat(100)}.py`;
    const workflow = (filter: string) => ({
      name: "hostile filter",
      steps: [
        { id: "a", type: "emit", body: { items: [{ id: "x", files: [long, "b.py"] }] } },
        {
          id: "v",
          type: "validation",
          depends_on: ["a"],
          body: {},
          inputs: { targets_from: { step: "a", field: "files_changed", filter } },
        },
      ],
    });
    const res = await t.request("POST", "/batch/workflows", workflow(`${"*a".repeat(12)}*b`));
    expect(res.status).toBe(200);
    const ended = await waitForWorkflowEnd(t, res.body.workflow_id);
    expect(ended.status).toBe("completed");
    const v = (await t.request("GET", `/batch/jobs/${ended.steps[1].job_id}`)).body;
    expect(v.total_items ?? v.result.summary.total).toBe(0);
    expect((await t.request("GET", "/health")).status).toBe(200);
    const bad = await t.request("POST", "/batch/workflows", workflow("{a,b"));
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({
      loc: ["body", "steps", 1, "inputs", "targets_from", "filter"],
      msg: expect.stringMatching(/not a glob it can use: a '\{' has no matching '\}'/),
    });
  });

  it("fillJobItems: of two processes filling one pending job at once, one does; the job then runs its items", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const store = t.app.store;
    const pending = {
      state: "pending",
      items_field: "targets",
      source: { step: "a", field: "f" },
      source_job: "x",
    };
    await store.createJob({
      id: "batch_validation-000000000001",
      type: "batch_validation",
      options: {},
      metadata: { inputs: pending },
      chunkSize: 10,
      parallel: 2,
      priority: 0,
      maxAttempts: 1,
      createdAt: 1,
      items: [],
    });
    expect((await store.nextRunnableJob([], 10))?.id).toBe("batch_validation-000000000001");
    const items = [
      { itemId: "a", payload: { id: "a", path: "a.py" } },
      { itemId: "b", payload: { id: "b", path: "b.py" } },
    ];
    const resolved = { inputs: { ...pending, state: "resolved", paths: 2 } };
    const wins = await Promise.all([
      store.fillJobItems("batch_validation-000000000001", items, resolved, 5),
      store.fillJobItems("batch_validation-000000000001", items, resolved, 5),
    ]);
    expect(wins.filter(Boolean)).toHaveLength(1);
    const job = await store.getJob("batch_validation-000000000001");
    expect(job).toMatchObject({ status: "queued", total: 2, metadata: resolved });
    expect((await store.listItems(job!.id, { limit: 10, offset: 0 })).items.map((i) => i.itemId)).toEqual([
      "a",
      "b",
    ]);
    // Runnable now for its items (no longer as a pending job), and a second fill does nothing.
    expect((await store.nextRunnableJob([], 10))?.id).toBe(job!.id);
    expect(await store.fillJobItems(job!.id, [], resolved, 6)).toBe(false);
  });
});
