import { describe, expect, it } from "vitest";
import { slotToYield } from "../src/queue/preemption.js";
import type { ProcessorRegistry } from "../src/queue/processor.js";
import { GateProcessor } from "./fixtures/test-processors.js";
import { BACKEND, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { newJob, T0 } from "./helpers/memory-store.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const items = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }));

/** Submits a gated job; its item ids are `<prefix><n>`. */
async function submit(t: TestApp, prefix: string, n: number, extra: Record<string, unknown> = {}) {
  const res = await t.request("POST", "/batch/jobs", {
    type: "gate",
    items: items(n, prefix),
    parallel: 1,
    chunk_size: 5,
    ...extra,
  });
  expect(res.status).toBe(200);
  return res.body.job_id as string;
}

/** Every item of the jobs ran exactly once, first time, and each job completed. */
async function allRanOnce(t: TestApp, gate: GateProcessor, jobs: Record<string, number>) {
  const ended = [];
  for (const id of Object.keys(jobs)) ended.push(await waitForJobEnd(t, id));
  const total = Object.values(jobs).reduce((a, b) => a + b, 0);
  expect(gate.started).toHaveLength(total);
  expect(new Set(gate.started).size).toBe(total);
  for (const [id, n] of Object.entries(jobs)) {
    const done = ended.shift();
    expect(done.status).toBe("completed");
    expect(done.result.summary).toMatchObject({ total: n, successful: n });
    const rows = await t.app.store.listItems(id, { limit: 1000, offset: 0 });
    expect(rows.items.every((i) => i.attempts === 1)).toBe(true);
  }
}

/**
 * Five low jobs hold every slot of `worker`; a high one is submitted through `submitter`: the lowest job (held
 * longest) gives its slot up, starts no other item, its claimed items go back unrun, and the high job's item
 * starts as soon as the running items end. Then everything runs to its end, each item once.
 */
async function highTakesASlot(worker: TestApp, submitter: TestApp, gate: GateProcessor) {
  const lows: Record<string, number> = {};
  for (let j = 0; j < 5; j++) lows[await submit(submitter, `low${j}-`, 12)] = 12;
  await gate.startedAtLeast(5);
  const high = await submit(submitter, "high-", 1, { priority: 10 });
  await expect.poll(() => worker.app.pool?.yieldingJobIds.length).toBe(1);
  const victim = worker.app.pool!.yieldingJobIds[0]!;
  expect(victim).toBe(Object.keys(lows)[0]);
  const before = gate.started.length;
  gate.releaseWaiting(); // the five running items end
  await expect.poll(() => gate.started.includes("high-0")).toBe(true);
  const since = gate.started.slice(before);
  expect(since.filter((id) => id.startsWith("low0-"))).toEqual([]);
  // The other four go on with the chunk they hold, at most one item each so far.
  expect(since.filter((id) => id.startsWith("low")).length).toBeLessThanOrEqual(4);
  // The yielded job is still running, its claimed-but-unstarted items queued again with no attempt counted.
  expect((await submitter.request("GET", `/batch/jobs/${victim}`)).body.status).toBe("running");
  const queued = await worker.app.store.listItems(victim, { status: "queued", limit: 100, offset: 0 });
  expect(queued.items).toHaveLength(11);
  expect(queued.items.every((i) => i.attempts === 0)).toBe(true);
  gate.release();
  await allRanOnce(worker, gate, { ...lows, [high]: 1 });
}

describe("slotToYield", () => {
  const h = (priority: number, heldSince: number) => ({ priority, heldSince });
  it("takes the lowest priority holder, the longest held of those; a higher waiting job at once", () => {
    const holders = [h(5, 0), h(0, 20), h(0, 10), h(3, 0)];
    expect(slotToYield(holders, 1, 11, 1000)).toBe(holders[2]);
  });
  it("an equal waiting job only once the turn is over; a lower one never", () => {
    const holders = [h(0, 0), h(0, 10)];
    expect(slotToYield(holders, 0, 999, 1000)).toBeNull();
    expect(slotToYield(holders, 0, 1000, 1000)).toBe(holders[0]);
    expect(slotToYield(holders, -1, 1_000_000, 1000)).toBeNull();
    expect(slotToYield([], 5, 0, 0)).toBeNull();
  });
});

describe(`priorities (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "the store hands out the highest priority first, then the job served longest ago (never served first)",
    async () => {
      const store = await openTestStore();
      await store.createJob(newJob("unit-00000000000a", 3, { createdAt: T0 }));
      await store.createJob(newJob("unit-00000000000b", 3, { createdAt: T0 + 1 }));
      await store.createJob(newJob("unit-00000000000c", 3, { createdAt: T0 + 2, priority: -1 }));
      expect((await store.nextRunnableJob([], T0 + 10))?.id).toBe("unit-00000000000a");
      await store.startJob("unit-00000000000a", T0 + 10);
      // a served, b never: b first although a is older
      expect((await store.nextRunnableJob([], T0 + 11))?.id).toBe("unit-00000000000b");
      await store.startJob("unit-00000000000b", T0 + 11);
      // a was served (t+10) longer ago than b (t+11); a turn that ends now puts a behind b
      expect((await store.nextRunnableJob([], T0 + 12))?.id).toBe("unit-00000000000a");
      await store.endTurn("unit-00000000000a", T0 + 12);
      expect((await store.nextRunnableJob([], T0 + 13))?.id).toBe("unit-00000000000b");
      // a higher priority goes before all of it
      expect(await store.setJobPriority("unit-00000000000c", 1, T0 + 14)).toBe(true);
      expect((await store.nextRunnableJob([], T0 + 14))?.id).toBe("unit-00000000000c");
      expect((await store.getJob("unit-00000000000c"))?.priority).toBe(1);
      expect(await store.setJobPriority("unit-nonexistent", 1, T0 + 14)).toBe(false);
      await store.cancelJob("unit-00000000000c", T0 + 15);
      expect(await store.setJobPriority("unit-00000000000c", 9, T0 + 15)).toBe(false);
      expect((await store.getJob("unit-00000000000c"))?.priority).toBe(1);
      await store.close();
    },
  );

  it.runIf(enabled)("free slots go to the highest priority job; the default is 0", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ config: { workers: 1 }, register: (r) => r.register("gate", gate) });
    const blocker = await submit(t, "blocker-", 1, { priority: 100 });
    await gate.startedAtLeast(1);
    const low = await submit(t, "low-", 2, { priority: -5 });
    const mid = await submit(t, "mid-", 2);
    const high = await submit(t, "high-", 2, { priority: 50 });
    expect((await t.request("GET", `/batch/jobs/${mid}`)).body.priority).toBe(0);
    expect((await t.request("GET", `/batch/jobs/${high}`)).body.priority).toBe(50);
    gate.release();
    for (const id of [blocker, low, mid, high]) await waitForJobEnd(t, id);
    expect(gate.started).toEqual(["blocker-0", "high-0", "high-1", "mid-0", "mid-1", "low-0", "low-1"]);
    const listed = (await t.request("GET", "/batch/jobs")).body.jobs;
    expect(
      Object.fromEntries(listed.map((j: { job_id: string; priority: number }) => [j.job_id, j.priority])),
    ).toEqual({
      [blocker]: 100,
      [low]: -5,
      [mid]: 0,
      [high]: 50,
    });
  });

  it.runIf(enabled)(
    "a high job behind five busy low jobs starts once the lowest one's running item ends: it claims no other chunk, its claimed items go back unrun, nothing runs twice",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ config: { workers: 5 }, register: (r) => r.register("gate", gate) });
      await highTakesASlot(t, t, gate);
    },
  );

  it.runIf(BACKEND === "postgres" && enabled)(
    "a high job submitted on another node (API only) takes a slot from the lowest job on the worker node",
    async () => {
      const gate = new GateProcessor();
      const dataDir = tempDir();
      const register = (r: ProcessorRegistry) => r.register("gate", gate);
      const worker = await startTestApp({ dataDir, config: { workers: 5 }, register });
      const api = await startTestApp({ dataDir, config: { workers: 0 }, register });
      await highTakesASlot(worker, api, gate);
    },
  );

  it.runIf(enabled)(
    "equal priorities take turns: a sixth job runs while five long jobs hold every slot, once a turn is over",
    async () => {
      const gate = new GateProcessor();
      const clock = new FakeClock();
      const t = await startTestApp({
        config: { workers: 5 },
        clock,
        pool: { clock, quantumMs: 60_000, pollMs: 20 },
        register: (r) => r.register("gate", gate),
      });
      const longs: Record<string, number> = {};
      for (let j = 0; j < 5; j++) longs[await submit(t, `long${j}-`, 40)] = 40;
      await gate.startedAtLeast(5);
      const sixth = await submit(t, "sixth-", 2);
      expect(t.app.pool?.yieldingJobIds).toEqual([]);
      clock.advance(60_000); // the long jobs' turns are over: the poll hands one slot over
      await expect.poll(() => t.app.pool?.yieldingJobIds.length).toBe(1);
      const first = t.app.pool!.yieldingJobIds[0]!;
      expect(first).toBe(Object.keys(longs)[0]); // the one holding its slot longest
      gate.releaseWaiting();
      await expect.poll(() => gate.started.includes("sixth-0")).toBe(true);
      // every long job still had work left: the sixth did not wait for one to end
      for (const id of Object.keys(longs)) expect((await t.app.store.getJob(id))?.succeeded).toBeLessThan(40);
      gate.release();
      await allRanOnce(t, gate, { ...longs, [sixth]: 2 });
    },
  );

  it.runIf(enabled)(
    "PATCH changes the priority of a queued or running job, and a raised one preempts",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({ config: { workers: 1 }, register: (r) => r.register("gate", gate) });
      const running = await submit(t, "run-", 3);
      await gate.startedAtLeast(1);
      const waiting = await submit(t, "wait-", 1, { priority: -10 });
      expect(t.app.pool?.yieldingJobIds).toEqual([]);
      const patched = await t.request("PATCH", `/batch/jobs/${waiting}`, { priority: 20 });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ job_id: waiting, status: "queued", priority: 20 });
      await expect.poll(() => t.app.pool?.yieldingJobIds).toEqual([running]);
      gate.releaseWaiting();
      await expect.poll(() => gate.started.includes("wait-0")).toBe(true);
      expect(gate.started).toEqual(["run-0", "wait-0"]);
      // the running job's own priority changes too
      const lowered = await t.request("PATCH", `/batch/jobs/${running}`, { priority: -3 });
      expect(lowered.body).toMatchObject({ status: "running", priority: -3 });
      gate.release();
      await allRanOnce(t, gate, { [running]: 3, [waiting]: 1 });

      const ended = await t.request("PATCH", `/batch/jobs/${waiting}`, { priority: 1 });
      expect(ended.status).toBe(409);
      expect(ended.body.detail).toMatch(/ended \(status: completed\)/);
      expect((await t.request("PATCH", "/batch/jobs/gate-000000000000", { priority: 1 })).status).toBe(404);
      for (const bad of [
        { priority: 101 },
        { priority: -101 },
        { priority: 1.5 },
        { priority: 1, status: "x" },
        {},
      ]) {
        const res = await t.request("PATCH", `/batch/jobs/${running}`, bad);
        expect(res.status, JSON.stringify(bad)).toBe(422);
        expect(res.body.detail).toBeDefined();
      }
      const tooHigh = await t.request("POST", "/batch/jobs", {
        type: "gate",
        items: items(1, "x"),
        priority: 101,
      });
      expect(tooHigh.status).toBe(422);
      expect(JSON.stringify(tooHigh.body.detail)).toContain("priority");
    },
  );
});
