import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OllamaClient } from "../src/agent/ollama-client.js";
import { modelMissing, OllamaError } from "../src/agent/ollama-errors.js";
import { failureOfError } from "../src/domain/failure.js";
import { WORKER_LOST } from "../src/domain/outcome-rules.js";
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  resolveRetryPolicy,
  retryDelayAfter,
  retryDelaySeconds,
} from "../src/domain/retry-policy.js";
import { agentProcessor } from "../src/processors/agent-processor.js";
import { QueueEvents } from "../src/queue/events.js";
import { JobRunner } from "../src/queue/job-runner.js";
import { ProcessorRegistry } from "../src/queue/processor.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import type { JobStore, NewJob } from "../src/store/job-store.js";
import { FakeOllama, toolResults } from "./fixtures/fake-ollama.js";
import { FlakyProcessor } from "./fixtures/test-processors.js";
import { BACKEND, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { newJob, recordingLogger, T0 } from "./helpers/memory-store.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const policy = (p: Partial<RetryPolicy>): RetryPolicy => resolveRetryPolicy(p);

describe("retry policy rules", () => {
  it("exponential doubles from delay_seconds up to max_delay_seconds; fixed stays; jitter stays within its range", () => {
    const exp = policy({ delay_seconds: 10, max_delay_seconds: 25 });
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(exp, a))).toEqual([10, 20, 25, 25]);
    const fixed = policy({ backoff: "fixed", delay_seconds: 7 });
    expect([1, 2, 3].map((a) => retryDelaySeconds(fixed, a))).toEqual([7, 7, 7]);
    const full = policy({ delay_seconds: 8, jitter: "full" });
    expect(retryDelaySeconds(full, 2, () => 0)).toBe(0);
    expect(retryDelaySeconds(full, 2, () => 0.5)).toBe(8);
    const equal = policy({ delay_seconds: 8, jitter: "equal" });
    expect(retryDelaySeconds(equal, 1, () => 0)).toBe(4);
    expect(retryDelaySeconds(equal, 1, () => 0.999)).toBeCloseTo(7.996, 3);
  });

  it("retries `error` by default, `failed` only when asked, never invalid input, security or a missing thing", () => {
    const d = resolveRetryPolicy(undefined);
    expect(d).toEqual({ ...DEFAULT_RETRY_POLICY });
    expect(retryDelayAfter(d, 1, "error")).toBe(1);
    expect(retryDelayAfter(d, 1, "timeout")).toBe(1);
    expect(retryDelayAfter(d, 3, "error")).toBeNull(); // its third try was its last
    expect(retryDelayAfter(d, 1, "check")).toBeNull();
    const both = policy({ on: ["error", "failed"] });
    expect(retryDelayAfter(both, 1, "check")).toBe(1);
    expect(retryDelayAfter(both, 1, "conflict")).toBe(1);
    for (const never of ["not_found", "security", "invalid"] as const)
      expect(retryDelayAfter(both, 1, never)).toBeNull();
  });

  it("a model server's errors say their failure: a missing model is not_found (never retried), a 503 is error", () => {
    expect(failureOfError(modelMissing("qwen", ["http://h"]))).toBe("not_found");
    expect(failureOfError(new OllamaError("busy", "busy (503)", 503))).toBe("error");
    expect(failureOfError(new OllamaError("unreachable", "no"))).toBe("error");
  });
});

describe(`automatic retries (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  /** A job stored with a retry policy, as the queue stores one (metadata.retry, max_attempts). */
  const jobWith = (id: string, p: Partial<RetryPolicy>, items: Record<string, unknown>[]): NewJob => {
    const retry = resolveRetryPolicy(p);
    return newJob(id, items.length, {
      type: "flaky",
      metadata: { retry },
      maxAttempts: retry.max_attempts,
      items: items.map((payload, i) => ({ itemId: String(payload.id ?? `i${i}`), payload })),
    });
  };

  /** One runner over the job's due items with the fake clock, as a pool starts one. */
  async function runOnce(store: JobStore, id: string, clock: FakeClock, flaky: FlakyProcessor) {
    const registry = new ProcessorRegistry();
    registry.register("flaky", flaky);
    const record = await store.getJob(id);
    if (!record) throw new Error("no job");
    const runner = new JobRunner(
      {
        store,
        registry,
        events: new QueueEvents(),
        clock,
        log: recordingLogger(),
        owner: "host:1:retry-test",
        workerId: "host:1",
        leaseMs: 30_000,
        flushMs: 5,
        flushSize: 100,
      },
      record,
    );
    await runner.run();
  }

  it.runIf(enabled)(
    "a failed try waits for its backoff in the queue (no slot, no runnable job), then runs; exhaustion fails it as before",
    async () => {
      const store = await openTestStore();
      const clock = new FakeClock(T0 * 1000);
      const flaky = new FlakyProcessor();
      const id = "flaky-backoff0001";
      await store.createJob(
        jobWith(id, { max_attempts: 4, delay_seconds: 10, max_delay_seconds: 25 }, [
          { id: "a", fail_times: 9 },
          { id: "b" },
        ]),
      );
      // Try 1 of a fails at T0: the runner ends without ending the job; a waits until T0 + 10.
      await runOnce(store, id, clock, flaky);
      let job = await store.getJob(id);
      expect(job).toMatchObject({ status: "running", succeeded: 1, failed: 0, retrying: 1 });
      expect(await store.nextRetryAt(id)).toBe(T0 + 10);
      expect(await store.finalizeJob(id, T0 + 1)).toBeNull();
      expect(await store.idleRunningJobs()).toEqual([]);
      const [a] = (await store.listItems(id, { itemIds: ["a"], limit: 1, offset: 0 })).items;
      expect(a).toMatchObject({ status: "queued", attempts: 1, notBefore: T0 + 10, result: null });
      expect(a?.attemptsLog).toEqual([
        { attempt: 1, error: "flaky: try 1", failure: "error", finished_at: T0 },
      ]);
      // Not due: no job is offered, nothing is claimed.
      expect(await store.nextRunnableJob([], T0 + 9.9)).toBeNull();
      expect(await store.claimItems(id, "x", 10, T0 + 40, T0 + 9.9)).toEqual([]);
      expect((await store.nextRunnableJob([], T0 + 10))?.id).toBe(id);
      // Tries 2, 3 and 4, each at its time: waits of 10, 20, then 25 (capped).
      const waits: number[] = [];
      for (const wait of [10, 20, 25]) {
        clock.advance(wait * 1000);
        const before = clock.now() / 1000;
        await runOnce(store, id, clock, flaky);
        const next = await store.nextRetryAt(id);
        if (next !== null) waits.push(next - before);
      }
      expect(waits).toEqual([20, 25]);
      expect(flaky.tries.get("a")).toEqual([1, 2, 3, 4]);
      expect(flaky.tries.get("b")).toEqual([1]);
      job = await store.getJob(id);
      expect(job).toMatchObject({ status: "failed", succeeded: 1, failed: 1, retrying: 0 });
      const [ended] = (await store.listItems(id, { itemIds: ["a"], limit: 1, offset: 0 })).items;
      expect(ended).toMatchObject({ status: "failed", attempts: 4, error: "flaky: try 4", notBefore: null });
      expect(ended?.result).toMatchObject({ status: "failed", failure: "error", error: "flaky: try 4" });
      expect(ended?.attemptsLog.map((e) => [e.attempt, e.finished_at])).toEqual([
        [1, T0],
        [2, T0 + 10],
        [3, T0 + 30],
      ]);
      await store.close();
    },
  );

  it.runIf(enabled)(
    "`on` is honoured: a check failure is not retried by default, and is with on: [error, failed]",
    async () => {
      const store = await openTestStore();
      const clock = new FakeClock(T0 * 1000);
      const flaky = new FlakyProcessor();
      const items = [
        { id: "check", fail_times: 1, failure: "check" },
        { id: "missing", fail_times: 1, failure: "not_found" },
      ];
      await store.createJob(jobWith("flaky-default0001", { delay_seconds: 0 }, items));
      await runOnce(store, "flaky-default0001", clock, flaky);
      expect(await store.getJob("flaky-default0001")).toMatchObject({ status: "failed", failed: 2 });
      await store.createJob(
        jobWith("flaky-onfailed001", { delay_seconds: 0, on: ["error", "failed"] }, items),
      );
      flaky.tries.clear();
      await runOnce(store, "flaky-onfailed001", clock, flaky);
      // Backoff 0: the same runner takes the check failure again at once; a missing file is never retried.
      expect(flaky.tries.get("check")).toEqual([1, 2]);
      expect(flaky.tries.get("missing")).toEqual([1]);
      const job = await store.getJob("flaky-onfailed001");
      expect(job).toMatchObject({ status: "failed", succeeded: 1, failed: 1 });
      const { items: rows } = await store.listItems("flaky-onfailed001", { limit: 5, offset: 0 });
      expect(rows[0]?.attemptsLog).toEqual([
        { attempt: 1, error: "check on try 1", failure: "check", finished_at: T0 },
      ]);
      expect(rows[1]).toMatchObject({ status: "failed", attempts: 1, attemptsLog: [] });
      await store.close();
    },
  );

  it.runIf(enabled)("a lost lease is an `error` try: logged, requeued after the job's backoff", async () => {
    const store = await openTestStore();
    const id = "flaky-leaselost01";
    await store.createJob(
      jobWith(id, { max_attempts: 2, backoff: "fixed", delay_seconds: 5 }, [{ id: "a" }]),
    );
    await store.startJob(id, T0);
    await store.claimItems(id, "gone", 1, T0 + 30, T0);
    expect(await store.sweepLeases(T0 + 31, [])).toMatchObject({ requeued: 1, abandoned: 0 });
    const [a] = (await store.listItems(id, { limit: 1, offset: 0 })).items;
    expect(a).toMatchObject({ status: "queued", notBefore: T0 + 36 });
    expect(a?.attemptsLog).toEqual([
      { attempt: 1, error: WORKER_LOST, failure: "error", finished_at: T0 + 31 },
    ]);
    expect(await store.claimItems(id, "next", 1, T0 + 70, T0 + 35.9)).toEqual([]);
    const [again] = await store.claimItems(id, "next", 1, T0 + 70, T0 + 36);
    expect(again?.attempt).toBe(2);
    // Its second loss is its last try: it fails as before.
    expect(await store.sweepLeases(T0 + 71, [])).toMatchObject({ requeued: 0, abandoned: 1 });
    await store.close();
  });

  it.runIf(enabled)("an item cancelled while it waits for its retry has no next attempt", async () => {
    const store = await openTestStore();
    const id = "flaky-cancelwait1";
    await store.createJob(jobWith(id, { max_attempts: 3, delay_seconds: 60 }, [{ id: "a" }]));
    await store.startJob(id, T0);
    await store.claimItems(id, "gone", 1, T0 + 30, T0);
    await store.sweepLeases(T0 + 31, []);
    const [waiting] = (await store.listItems(id, { limit: 1, offset: 0 })).items;
    expect(waiting).toMatchObject({ status: "queued", notBefore: T0 + 91 });
    expect(await store.cancelJob(id, T0 + 40)).toBe("cancelled");
    const [a] = (await store.listItems(id, { limit: 1, offset: 0 })).items;
    expect(a).toMatchObject({ status: "cancelled", notBefore: null });
    expect(a?.attemptsLog).toHaveLength(1); // its earlier try stays on record
    await store.close();
  });

  const flakyApp = (flaky: FlakyProcessor, dataDir?: string) =>
    startTestApp({ register: (r) => r.register("flaky", flaky), ...(dataDir ? { dataDir } : {}) });

  /** Waits (on the job's progress events) until the job's progress says `n` items wait for a retry. */
  async function retryingCount(t: TestApp, id: string, n: number): Promise<Record<string, unknown>> {
    for (;;) {
      const job = await t.request("GET", `/batch/jobs/${id}`);
      if (job.body.metadata.progress?.retrying === n) return job.body;
      await t.app.queue.events.waitFor("job:progress");
    }
  }

  it.runIf(enabled)(
    "over HTTP: the policy is checked and stored, progress counts `retrying`, items show their attempts log",
    async () => {
      const flaky = new FlakyProcessor();
      const t = await flakyApp(flaky);
      for (const [retry, message] of [
        [{ max_attempts: 0 }, /max_attempts/],
        [{ max_attempts: 21 }, /max_attempts/],
        [{ on: ["failed"] }, /on/],
        [{ backoff: "linear" }, /backoff/],
        [{ delay_seconds: -1 }, /delay_seconds/],
        [{ tries: 2 }, /tries/],
      ] as const) {
        const r = await t.request("POST", "/batch/jobs", { type: "flaky", items: [{ id: "a" }], retry });
        expect(r.status, JSON.stringify(retry)).toBe(422);
        expect(JSON.stringify(r.body.detail)).toMatch(message);
      }
      const res = await t.request("POST", "/batch/jobs", {
        type: "flaky",
        items: [{ id: "a", fail_times: 1 }, { id: "b" }],
        retry: { max_attempts: 2, delay_seconds: 0.5, backoff: "fixed" },
      });
      expect(res.status).toBe(200);
      expect(res.body.metadata.retry).toEqual({
        ...DEFAULT_RETRY_POLICY,
        max_attempts: 2,
        delay_seconds: 0.5,
        backoff: "fixed",
      });
      const id = res.body.job_id as string;
      const waiting = await retryingCount(t, id, 1);
      expect(waiting.status).toBe("running");
      const items = await t.request("GET", `/batch/jobs/${id}/items`);
      const a = items.body.items.find((i: { id: string }) => i.id === "a");
      if (a.status === "queued") expect(a.next_attempt_at).toBeGreaterThan(a.attempts_log[0].finished_at);
      expect(a.attempts_log).toMatchObject([{ attempt: 1, error: "flaky: try 1", failure: "error" }]);
      const done = await waitForJobEnd(t, id);
      expect(done.status).toBe("completed");
      expect(done.metadata.progress.retrying).toBe(0);
      const entry = done.result.results.find((e: { id: string }) => e.id === "a");
      expect(entry).toMatchObject({ status: "success", output: "ok on try 2" });
      expect(entry.attempts_log).toHaveLength(1);
      expect(done.result.results.find((e: { id: string }) => e.id === "b").attempts_log).toBeUndefined();
    },
  );

  it.runIf(enabled)("a retry waiting for its time survives a restart", async () => {
    const dir = tempDir();
    const first = await flakyApp(new FlakyProcessor(), dir);
    const res = await first.request("POST", "/batch/jobs", {
      type: "flaky",
      items: [{ id: "a", fail_times: 1 }],
      retry: { delay_seconds: 1 },
    });
    const id = res.body.job_id as string;
    await retryingCount(first, id, 1);
    await first.app.stop();
    const flaky = new FlakyProcessor();
    const second = await flakyApp(flaky, dir);
    const done = await waitForJobEnd(second, id);
    expect(done.status).toBe("completed");
    expect(flaky.tries.get("a")).toEqual([2]);
    expect(done.result.results[0].attempts_log).toMatchObject([{ attempt: 1, error: "flaky: try 1" }]);
  });

  it.runIf(enabled)("a schedule's job body carries its retry policy to every job it fires", async () => {
    const t = await flakyApp(new FlakyProcessor());
    const retry = { max_attempts: 5, delay_seconds: 0 };
    const made = await t.request("POST", "/batch/schedules", {
      name: "nightly-retry",
      cron: "0 2 * * *",
      job: { type: "flaky", items: [{ id: "a", fail_times: 2 }], retry },
    });
    expect(made.status).toBe(200);
    const { submitGenericJob } = await import("../src/api/generic-submit.js");
    const job = await submitGenericJob(t.app.queue, made.body.job, {
      metadata: { schedule: "nightly-retry" },
    });
    expect(job.maxAttempts).toBe(5);
    expect(job.metadata.retry).toMatchObject(retry);
    const done = await waitForJobEnd(t, job.id);
    expect(done.status).toBe("completed");
    expect(done.result.results[0].attempts_log).toHaveLength(2);
  });

  describe("agent tasks and the model server", () => {
    /** The agent processor with a client that does not retry a 503 itself: the queue's retry does. */
    const agentOn = async (models?: string[]) => {
      const ollama = new FakeOllama(models);
      await ollama.start();
      const root = join(tempDir(), "project");
      const { mkdirSync } = await import("node:fs");
      mkdirSync(root, { recursive: true });
      const client = new OllamaClient({
        urls: [ollama.url],
        maxConcurrencyPerHost: 4,
        busyRetries: 0,
        backoffBaseMs: 1,
        backoffMaxMs: 1,
      });
      const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
      const places = { workspacesDir: join(root, "..", "ws"), patchesDir: join(root, "..", "patches") };
      const t = await startTestApp({
        register: (r) => r.register("batch_agent_tasks", agentProcessor(sandbox, client, places)),
      });
      return { ollama, t };
    };

    it.runIf(enabled)(
      "a model server that answers 503 twice, then works: the task succeeds on its third try",
      async () => {
        const { ollama, t } = await agentOn();
        try {
          ollama.script("qwen2.5-coder:7b", (b, n) => {
            if (n <= 2) return { status: 503 };
            return toolResults(b).length === 0
              ? { toolCalls: [{ name: "write_file", arguments: { path: "b.txt", content: "b" } }] }
              : { content: "done" };
          });
          const res = await t.request("POST", "/batch/jobs", {
            type: "batch_agent_tasks",
            items: [{ id: "busy", description: "write b.txt" }],
            options: { reviewer_model: null },
            retry: { delay_seconds: 0 },
          });
          expect(res.status).toBe(200);
          const done = await waitForJobEnd(t, res.body.job_id, 80_000); // each try makes its workspace (git)
          const entry = done.result.results[0];
          expect(done.status, JSON.stringify(entry)).toBe("completed");
          expect(entry.status).toBe("completed");
          expect(
            entry.attempts_log.map((e: { attempt: number; failure: string }) => [e.attempt, e.failure]),
          ).toEqual([
            [1, "error"],
            [2, "error"],
          ]);
          expect(entry.attempts_log[0].error).toMatch(/busy \(503\)/);
          const items = await t.request("GET", `/batch/jobs/${res.body.job_id}/items`);
          expect(items.body.items[0].attempts).toBe(3);
        } finally {
          await ollama.close();
        }
      },
      90_000,
    );

    it.runIf(enabled)(
      "a model the server does not have is never retried",
      async () => {
        const { ollama, t } = await agentOn();
        try {
          // Listed when the job starts, gone when the task asks for it (removed meanwhile).
          ollama.script("qwen2.5-coder:7b", () => {
            ollama.models = ["llama3.2:latest"];
            return { status: 503 };
          });
          const res = await t.request("POST", "/batch/jobs", {
            type: "batch_agent_tasks",
            items: [{ id: "a", description: "x" }],
            options: { reviewer_model: null },
            retry: { max_attempts: 5, delay_seconds: 0, on: ["error", "failed"] },
          });
          const done = await waitForJobEnd(t, res.body.job_id, 80_000);
          expect(done.status).toBe("failed");
          const entry = done.result.results[0];
          expect(entry, JSON.stringify(entry)).toMatchObject({ status: "failed", failure: "not_found" });
          expect(entry.attempts_log).toHaveLength(1); // the 503 was retried; the missing model was not
          const chats = ollama.requests.filter((s) => s.body.model === "qwen2.5-coder:7b");
          expect(chats).toHaveLength(2);
        } finally {
          await ollama.close();
        }
      },
      90_000,
    );
  });
});
