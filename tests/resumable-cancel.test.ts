import { describe, expect, it } from "vitest";
import { GateProcessor } from "./fixtures/test-processors.js";
import { BACKEND, postgresAvailable } from "./helpers/backend.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const JSON_NO_BODY = { "content-type": "application/json" };

/** A validation job (success word "passed") of six targets on a gate, cancelled after two passed and two started. */
async function cancelledHalfway(t: TestApp, gate: GateProcessor) {
  const targets = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, path: `src/m${i}.py` }));
  const res = await t.request("POST", "/batch/validation", {
    targets,
    parallel: 2,
    chunk_size: 6, // every item claimed at once: four of them are claimed and never started
    check_command: "ruff check",
  });
  expect(res.status).toBe(200);
  const id = res.body.job_id as string;
  await gate.startedAtLeast(2);
  // Still running: nothing to retry yet.
  const early = await t.request("POST", `/batch/jobs/${id}/retry`, undefined, JSON_NO_BODY);
  expect([early.status, early.body.detail]).toEqual([
    409,
    "Job cannot be retried while it is running; cancel it or wait for it to end",
  ]);
  // The job's state is said first, even to a retry whose options are wrong too.
  const earlyWithOptions = await t.request("POST", `/batch/jobs/${id}/retry`, { options: { nope: 1 } });
  expect(earlyWithOptions.status).toBe(409);
  gate.releaseWaiting(); // t0 and t1 pass
  await gate.startedAtLeast(4); // t2 and t3 run
  expect((await t.request("DELETE", `/batch/jobs/${id}`)).status).toBe(200);
  await waitForJobEnd(t, id);
  // The runner settles its items after the cancel: wait until every item has its entry.
  await expect
    .poll(async () => (await t.request("GET", `/batch/jobs/${id}`)).body.result.results.length)
    .toBe(6);
  return { id, targets };
}

describe(`a cancelled job keeps its tail and can be resumed (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "results list every item (unstarted ones as cancelled, as submitted); current_item ran; retry takes the rest",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ register: (r) => r.register("batch_validation", gate) });
      const { id, targets } = await cancelledHalfway(t, gate);

      const job = (await t.request("GET", `/batch/jobs/${id}`)).body;
      expect(job.status).toBe("cancelled");
      const results = job.result.results as Record<string, unknown>[];
      expect(results.map((r) => [r.id, r.status])).toEqual([
        ["t0", "passed"],
        ["t1", "passed"],
        ["t2", "cancelled"],
        ["t3", "cancelled"],
        ["t4", "cancelled"],
        ["t5", "cancelled"],
      ]);
      expect(results[5]).toEqual({ ...targets[5], status: "cancelled", error: "Cancelled by user" });
      expect(job.result.summary).toMatchObject({ total: 6, successful: 2, failed: 0, cancelled: 4 });
      expect(results.filter((r) => r.status === "cancelled")).toHaveLength(job.result.summary.cancelled);
      // current_item is an item that ran, never one claimed and cancelled before it started.
      expect(gate.started).not.toContain("t5");
      expect(gate.started).toContain(job.metadata.progress.current_item);

      // The items view speaks the same words, and filters by any of them.
      const cancelled = await t.request("GET", `/batch/jobs/${id}/items?status=cancelled`);
      expect(cancelled.body.total).toBe(4);
      const passed = await t.request("GET", `/batch/jobs/${id}/items?status=passed`);
      expect(passed.body.items.map((i: { id: string; status: string }) => [i.id, i.status])).toEqual([
        ["t0", "passed"],
        ["t1", "passed"],
      ]);

      gate.release();
      // Default: the failed items and, of a cancelled job, its cancelled ones, in item order, same options.
      const resumed = await t.request("POST", `/batch/jobs/${id}/retry`, undefined, JSON_NO_BODY);
      expect(resumed.status).toBe(200);
      expect(resumed.body.metadata).toEqual({ total_targets: 4, retry_of: id });
      const done = await waitForJobEnd(t, resumed.body.job_id);
      expect(done.status).toBe("completed");
      expect(done.result.results.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([
        ["t2", "passed"],
        ["t3", "passed"],
        ["t4", "passed"],
        ["t5", "passed"],
      ]);
      expect((await t.app.store.getJob(resumed.body.job_id))?.options).toMatchObject({
        check_command: "ruff check",
      });
    },
  );

  it.runIf(enabled)(
    "a cancel's end is said once the items that were running have stopped: its counts are whole",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ register: (r) => r.register("batch_validation", gate) });
      const targets = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, path: `src/m${i}.py` }));
      const res = await t.request("POST", "/batch/validation", { targets, parallel: 2, chunk_size: 6 });
      const id = res.body.job_id as string;
      await gate.startedAtLeast(2);
      gate.releaseWaiting();
      await gate.startedAtLeast(4);
      // What a listener of the end (the event stream's last message, the CLI, the log) reads when it is said.
      const atEnd = new Promise<{ cancelled: number; running: number }>((resolve) => {
        t.app.events.on("job:finished", ({ jobId }) => {
          if (jobId !== id) return;
          void Promise.all([
            t.app.store.getJob(id),
            t.app.store.listItems(id, { status: "running", limit: 10, offset: 0 }),
          ]).then(([job, running]) => resolve({ cancelled: job?.cancelled ?? -1, running: running.total }));
        });
      });
      expect((await t.request("DELETE", `/batch/jobs/${id}`)).status).toBe(200);
      expect(await atEnd).toEqual({ cancelled: 4, running: 0 });
    },
  );

  it.runIf(enabled)("retry takes include, items and options; says clearly what it cannot do", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("batch_validation", gate) });
    const { id } = await cancelledHalfway(t, gate);
    gate.release();
    const retry = (body: unknown) => t.request("POST", `/batch/jobs/${id}/retry`, body);
    const itemsOf = async (jobId: string) =>
      (await t.app.store.listItems(jobId, { limit: 100, offset: 0 })).items.map((i) => i.itemId);

    // One item (the dashboard's per-item re-run), with an option changed.
    const one = await retry({ items: ["t4"], options: { check_command: "pytest -q", timeout_seconds: 9 } });
    expect(one.status).toBe(200);
    expect(await itemsOf(one.body.job_id)).toEqual(["t4"]);
    expect((await t.app.store.getJob(one.body.job_id))?.options).toEqual({
      check_command: "pytest -q",
      timeout_seconds: 9,
    });
    // Items that passed, by any success word; the named ones in item order.
    const again = await retry({ include: ["succeeded"], items: ["t1", "t0"] });
    expect(await itemsOf(again.body.job_id)).toEqual(["t0", "t1"]);
    expect(await itemsOf((await retry({ include: ["passed"] })).body.job_id)).toEqual(["t0", "t1"]);
    // Only what was failed: none here (nothing failed, and cancelled is not asked for).
    const none = await retry({ include: ["failed"] });
    expect([none.status, none.body.detail]).toEqual([409, "Job has no failed items to retry"]);

    const notIncluded = await retry({ items: ["t0", "t3"] });
    expect(notIncluded.status).toBe(409);
    expect(notIncluded.body.detail).toMatch(
      /^Not retried: 't0' \(passed\) — "include" is failed, cancelled; add an item's status/,
    );
    const unknown = await retry({ items: ["t3", "nope"] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toEqual([
      { loc: ["body", "items", 1], msg: `Job ${id} has no item 'nope'`, type: "value_error.unknown_item" },
    ]);
    const misspelt = await retry({ options: { check_comand: "ruff" } });
    expect(misspelt.status).toBe(422);
    expect(misspelt.body.detail[0]).toMatchObject({
      loc: ["body", "options", "check_comand"],
      msg: "batch_validation has no option 'check_comand'; its options: check_command, timeout_seconds, cache, cache_ttl_seconds",
    });
    const badValue = await retry({ options: { timeout_seconds: -1 } });
    expect(badValue.status).toBe(422);
    expect(badValue.body.detail[0].loc).toEqual(["body", "options", "timeout_seconds"]);
    for (const body of [{ include: ["queued"] }, { include: [] }, { items: [] }, { everything: true }]) {
      const bad = await retry(body);
      expect([JSON.stringify(body), bad.status]).toEqual([JSON.stringify(body), 422]);
    }
    // Not one of these made a job: the old job links only to the five retries that ran.
    expect((await t.app.queue.get(id)).metadata.retried_by).toHaveLength(3);
  });
});
