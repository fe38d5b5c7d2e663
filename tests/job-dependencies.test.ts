import { describe, expect, it } from "vitest";
import type { QueueEventMap } from "../src/queue/events.js";
import type { Processor } from "../src/queue/processor.js";
import type { PostgresJobStore } from "../src/store/postgres/pg-store.js";
import { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { GateProcessor, TimedProcessor } from "./fixtures/test-processors.js";
import { BACKEND, postgresAvailable } from "./helpers/backend.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const items = (n: number, prefix = "i", extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, ...extra }));

/** When (Date.now) the first `name` event for `jobId` reaches the app's bus; rejects after `ms`. */
function eventWithin(
  t: TestApp,
  name: "job:released" | "job:finished" | "job:waiting",
  jobId: string,
  ms: number,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${name} for ${jobId} within ${ms} ms`));
    }, ms);
    const off = t.app.events.on(name, (p: QueueEventMap[typeof name]) => {
      if (p.jobId !== jobId) return;
      clearTimeout(timer);
      off();
      resolve(Date.now());
    });
  });
}

type SseEvent = { event: string; data: any };

/** Reads an SSE response's events until `enough` says so (then cancels it) or the server closes it. */
async function readSse(res: Response, enough: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    for (let i = buffer.indexOf("\n\n"); i >= 0; i = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
    if (enough(events)) {
      await reader.cancel();
      return events;
    }
  }
}

async function submit(t: TestApp, body: Record<string, unknown>): Promise<string> {
  const res = await t.request("POST", "/batch/jobs", { parallel: 2, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.job_id as string;
}

/** A one-item `timed` job waiting on `deps` (with the rule `run` when given). */
const dependant = (t: TestApp, deps: string[], rule?: "run") =>
  submit(t, {
    type: "timed",
    items: items(1),
    depends_on: deps,
    ...(rule ? { on_dependency_failure: rule } : {}),
  });

const job = async (t: TestApp, id: string) => (await t.request("GET", `/batch/jobs/${id}`)).body;

function processors(gate: GateProcessor, timed: Processor = new TimedProcessor(1)) {
  return (r: { register(type: string, p: Processor): void }) => {
    r.register("gate", gate);
    r.register("timed", timed);
  };
}

describe(`job dependencies over the API (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "a job waiting on another starts only after it completes; answers show the wait",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ register: processors(gate) });
      const a = await submit(t, { type: "gate", items: items(2) });
      const res = await t.request("POST", "/batch/jobs", { type: "timed", items: items(3), depends_on: [a] });
      expect(res.status).toBe(200);
      const b = res.body.job_id as string;
      expect(res.body).toMatchObject({
        status: "queued",
        depends_on: [a],
        waiting_for: [a],
        workflow_id: null,
      });
      expect(res.body.metadata.waiting_for).toEqual([a]);
      await gate.startedAtLeast(2);
      expect(await job(t, b)).toMatchObject({ status: "queued", started_at: null, waiting_for: [a] });
      const listed = (await t.request("GET", "/batch/jobs?status=queued")).body.jobs;
      expect(listed.find((j: { job_id: string }) => j.job_id === b)).toMatchObject({ waiting_for: [a] });
      const released = eventWithin(t, "job:released", b, 10_000);
      gate.release();
      const doneA = await waitForJobEnd(t, a);
      await released;
      const doneB = await waitForJobEnd(t, b);
      expect(doneA.status).toBe("completed");
      expect(doneB).toMatchObject({ status: "completed", depends_on: [a], waiting_for: [] });
      expect(doneB.metadata.waiting_for).toEqual([]);
      expect(doneB.started_at).toBeGreaterThanOrEqual(doneA.completed_at);
      expect(await job(t, a)).toMatchObject({ depends_on: [], waiting_for: [], workflow_id: null });
    },
  );

  it.runIf(enabled)(
    "a failed dependency cancels its dependants (only them, and theirs); on_dependency_failure run runs",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ register: processors(gate) });
      const bad = await submit(t, { type: "gate", items: items(2, "f", { fail: true }) });
      const good = await submit(t, { type: "gate", items: items(1, "g") });
      const skip = await submit(t, { type: "timed", items: items(2), depends_on: [bad, good] });
      const chained = await dependant(t, [skip]);
      const run = await dependant(t, [bad], "run");
      const sibling = await dependant(t, [good]);
      const cancelled = eventWithin(t, "job:finished", chained, 10_000);
      gate.release();
      expect((await waitForJobEnd(t, bad)).status).toBe("failed");
      await cancelled;
      expect(await waitForJobEnd(t, skip)).toMatchObject({
        status: "cancelled",
        error: `dependency ${bad} failed`,
        started_at: null,
        result: { summary: { total: 2, cancelled: 2 } },
      });
      expect(await waitForJobEnd(t, chained)).toMatchObject({
        status: "cancelled",
        error: `dependency ${skip} was cancelled`,
      });
      expect((await waitForJobEnd(t, run)).status).toBe("completed");
      expect((await waitForJobEnd(t, sibling)).status).toBe("completed");
      expect((await waitForJobEnd(t, good)).status).toBe("completed");
      // A retry of the cancelled dependant has no dependencies of its own: it runs at once.
      const retried = await t.request("POST", `/batch/jobs/${skip}/retry`, {});
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body).toMatchObject({ depends_on: [], waiting_for: [] });
      expect((await waitForJobEnd(t, retried.body.job_id)).status).toBe("completed");
      // A dependency that already failed applies the rule at submit.
      const late = await t.request("POST", "/batch/jobs", {
        type: "timed",
        items: items(1),
        depends_on: [bad],
      });
      expect(late.body).toMatchObject({
        status: "cancelled",
        error: `dependency ${bad} failed`,
        waiting_for: [],
      });
    },
  );

  it.runIf(enabled)("unknown ids are a 422 naming them, and nothing is queued", async () => {
    const t = await startTestApp({ register: processors(new GateProcessor()) });
    const known = await submit(t, { type: "timed", items: items(1) });
    await waitForJobEnd(t, known);
    const before = (await t.request("GET", "/batch/stats")).body.stats.total;
    const res = await t.request("POST", "/batch/jobs", {
      type: "timed",
      items: items(2),
      depends_on: [known, "timed-000000000000", "nope"],
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      expect.objectContaining({ loc: ["body", "depends_on", 1], type: "value_error.unknown_job" }),
      expect.objectContaining({ loc: ["body", "depends_on", 2], msg: expect.stringContaining("'nope'") }),
    ]);
    expect((await t.request("GET", "/batch/stats")).body.stats.total).toBe(before);
    const bad = await t.request("POST", "/batch/jobs", {
      type: "timed",
      items: items(1),
      depends_on: [known],
      on_dependency_failure: "maybe",
    });
    expect(bad.status).toBe(422);
    // The idempotency fingerprint covers depends_on: the same key with other dependencies is a conflict.
    const key = { "idempotency-key": "dep-key-1" };
    const first = await t.request(
      "POST",
      "/batch/jobs",
      { type: "timed", items: items(1), depends_on: [known] },
      key,
    );
    expect(first.status).toBe(200);
    const other = await t.request("POST", "/batch/jobs", { type: "timed", items: items(1) }, key);
    expect(other.status).toBe(409);
  });

  it.runIf(enabled)("cancel cascades by default; cascade=false leaves dependants to their rule", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: processors(gate) });
    const a = await submit(t, { type: "gate", items: items(1) });
    const b = await dependant(t, [a], "run");
    const c = await dependant(t, [b], "run");
    const res = await t.request("POST", `/batch/jobs/${a}/cancel`, undefined, {
      "content-type": "application/json",
    });
    expect(res.body).toEqual({ status: "cancelled", job_id: a });
    expect(await waitForJobEnd(t, b)).toMatchObject({
      status: "cancelled",
      error: `dependency ${a} was cancelled`,
    });
    expect(await waitForJobEnd(t, c)).toMatchObject({
      status: "cancelled",
      error: `dependency ${b} was cancelled`,
    });

    const p = await submit(t, { type: "gate", items: items(1) });
    const q = await dependant(t, [p], "run");
    const r = await dependant(t, [p]);
    expect((await t.request("DELETE", `/batch/jobs/${p}?cascade=false`)).status).toBe(200);
    expect((await waitForJobEnd(t, q)).status).toBe("completed");
    expect(await waitForJobEnd(t, r)).toMatchObject({
      status: "cancelled",
      error: `dependency ${p} was cancelled`,
    });
    gate.release();
  });

  it.runIf(enabled)(
    "the SSE streams say `waiting`, then the job runs once its dependency completed",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ register: processors(gate) });
      const a = await submit(t, { type: "gate", items: items(1) });
      const all = await fetch(`${t.url}/batch/events`); // subscribed once it has answered
      const b = await dependant(t, [a]);
      const seen = await readSse(all, (events) => events.some((e) => e.event === "waiting"));
      expect(seen.find((e) => e.event === "waiting")).toMatchObject({
        data: { job_id: b, waiting_for: [a] },
      });
      const one = await fetch(`${t.url}/batch/jobs/${b}/events`);
      let released = false;
      const events = await readSse(one, (got) => {
        if (!released && got.some((e) => e.event === "waiting")) {
          released = true;
          gate.release();
        }
        return false; // until the server closes the stream after the final event
      });
      expect(events[0]).toMatchObject({
        event: "waiting",
        data: { job_id: b, waiting_for: [a], status: "queued" },
      });
      expect(events.at(-1)).toMatchObject({ event: "completed", data: { job_id: b, waiting_for: [] } });
    },
  );

  it.runIf(enabled)(
    "the workers' sweep releases a job whose dependency ended without releasing it",
    async () => {
      const t = await startTestApp({ register: processors(new GateProcessor()) });
      const later = t.app.queue.nowSeconds() + 3600;
      const a = await submit(t, { type: "timed", items: items(1), run_at: later });
      const b = await dependant(t, [a]);
      // A's end written behind the store's back: nothing released B.
      const sql = `UPDATE jobs SET status = 'completed', completed_at = ${later} WHERE id = '${a}'`;
      if (t.app.store instanceof SqliteJobStore) t.app.store.db.exec(sql);
      else await (t.app.store as PostgresJobStore).pool.query(sql);
      expect(await job(t, b)).toMatchObject({ status: "queued", waiting_for: [a] });
      const released = eventWithin(t, "job:released", b, 10_000);
      await t.app.pool?.sweep();
      await released;
      expect(await waitForJobEnd(t, b)).toMatchObject({ status: "completed", waiting_for: [] });
    },
  );

  it.runIf(enabled)(
    "a chain survives a restart: the dependency finishes on the restarted server",
    async () => {
      const dir = tempDir();
      const gate = new GateProcessor();
      const first = await startTestApp({ dataDir: dir, register: processors(gate) });
      const a = await submit(first, { type: "gate", items: items(1) });
      const b = await submit(first, { type: "timed", items: items(1), depends_on: [a] });
      const c = await submit(first, { type: "timed", items: items(1), depends_on: [b] });
      await gate.startedAtLeast(1);
      await first.app.stop();
      const open = new GateProcessor();
      open.release();
      const second = await startTestApp({ dataDir: dir, register: processors(open) });
      const doneA = await waitForJobEnd(second, a);
      const doneC = await waitForJobEnd(second, c);
      const doneB = await job(second, b);
      expect(doneA.status).toBe("completed");
      expect(doneB.status).toBe("completed");
      expect(doneC).toMatchObject({ status: "completed", waiting_for: [] });
      expect(doneB.started_at).toBeGreaterThanOrEqual(doneA.completed_at);
      expect(doneC.started_at).toBeGreaterThanOrEqual(doneB.completed_at);
    },
  );

  it.runIf(enabled && BACKEND === "postgres")(
    "a dependency finishing on another node releases the waiting job there within 1 s",
    async () => {
      const gate = new GateProcessor();
      const worker = await startTestApp({ register: processors(gate), config: { workers: 1 } });
      const databaseUrl = worker.app.config.databaseUrl ?? undefined;
      const api = await startTestApp({ register: processors(gate), config: { databaseUrl, workers: 0 } });
      const a = await submit(api, { type: "gate", items: items(1) });
      await gate.startedAtLeast(1); // on the worker node: the API node runs nothing
      const b = await submit(api, { type: "timed", items: items(1), depends_on: [a] });
      const endedOnWorker = eventWithin(worker, "job:finished", a, 10_000);
      const releasedOnApi = eventWithin(api, "job:released", b, 10_000);
      gate.release();
      const [ended, released] = await Promise.all([endedOnWorker, releasedOnApi]);
      expect(released - ended).toBeLessThan(1000);
      expect((await waitForJobEnd(api, b)).status).toBe("completed");
    },
  );
});
