import { describe, expect, it } from "vitest";
import { QueueEvents } from "../src/queue/events.js";
import { JobQueue } from "../src/queue/job-queue.js";
import { ProcessorRegistry } from "../src/queue/processor.js";
import { WorkerPool } from "../src/queue/worker-pool.js";
import { GateProcessor, TimedProcessor } from "./fixtures/test-processors.js";
import { openTestStore } from "./helpers/backend.js";
import { tempDir } from "./helpers/temp.js";
import { locationOf, startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const items = (n: number, prefix = "i") => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}` }));

describe("worker pool", () => {
  it.each([1, 3, 8])("keeps exactly parallel=%i items in flight", async (parallel) => {
    const timed = new TimedProcessor(5);
    const t = await startTestApp({ register: (r) => r.register("timed", timed) });
    const res = await t.request("POST", "/batch/jobs", {
      type: "timed",
      items: items(40),
      parallel,
      chunk_size: 7,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("completed");
    expect(timed.maxInFlight).toBe(parallel);
    expect([...timed.runs.values()].every((n) => n === 1)).toBe(true);
    expect(done.result.results).toHaveLength(40);
  });

  it("runs at most max_workers jobs at once; the rest wait queued", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ config: { workers: 2 }, register: (r) => r.register("gate", gate) });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push(
        (await t.request("POST", "/batch/jobs", { type: "gate", items: items(2, `j${i}-`), parallel: 2 }))
          .body.job_id,
      );
    }
    await gate.startedAtLeast(4);
    const stats = (await t.request("GET", "/batch/stats")).body.stats;
    expect(stats).toMatchObject({ running: 2, queued: 2 });
    expect(t.app.pool?.activeJobIds).toHaveLength(2);
    gate.release();
    for (const id of ids) expect((await waitForJobEnd(t, id)).status).toBe("completed");
    expect(gate.maxJobsAtOnce).toBe(2);
    expect(gate.maxInFlight).toBe(4);
  });

  it("cancel of a running job aborts its items at once; claimed items never start; status stays cancelled", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("gate", gate) });
    const res = await t.request("POST", "/batch/jobs", {
      type: "gate",
      items: items(20),
      parallel: 3,
      chunk_size: 10,
    });
    await gate.startedAtLeast(3);
    const cancelled = t.app.events.waitFor("job:cancelled");
    const del = await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    expect(del.body).toEqual({ status: "cancelled", job_id: res.body.job_id });
    await cancelled;
    await expect.poll(() => gate.aborted.length).toBe(3);
    await expect.poll(() => t.app.pool?.activeJobIds.length).toBe(0);
    expect(gate.started).toHaveLength(3);
    const job = (await t.request("GET", `/batch/jobs/${res.body.job_id}`)).body;
    expect(job.status).toBe("cancelled");
    expect(job.result.summary).toMatchObject({ total: 20, successful: 0, cancelled: 20 });
    // Every item has its entry, the 17 that never started too (as submitted, with no worker).
    expect(job.result.results.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual(
      Array.from({ length: 20 }, (_, i) => [`i${i}`, "cancelled"]),
    );
    expect(job.result.results.filter((r: { worker_id?: string }) => r.worker_id)).toHaveLength(3);
    const rows = await t.app.store.listItems(res.body.job_id, { limit: 100, offset: 0 });
    expect(rows.items.every((i) => i.status === "cancelled" && i.finishedAt !== null)).toBe(true);
  });

  it("a worker finishing after cancel does not overwrite the cancelled status", async () => {
    const gate = new GateProcessor();
    // Items that ignore their signal and finish late.
    const stubborn = {
      async processItem(item: Record<string, unknown>) {
        await gate.processItem(item, { signal: new AbortController().signal, job: { id: "x" } } as never);
        return { status: "succeeded" as const };
      },
    };
    const t = await startTestApp({ register: (r) => r.register("stubborn", stubborn) });
    const res = await t.request("POST", "/batch/jobs", { type: "stubborn", items: items(4), parallel: 2 });
    await gate.startedAtLeast(2);
    await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    gate.release();
    await expect.poll(() => t.app.pool?.activeJobIds.length).toBe(0);
    const job = (await t.request("GET", `/batch/jobs/${res.body.job_id}`)).body;
    expect(job.status).toBe("cancelled");
    // what ran is kept
    expect(job.result.summary).toMatchObject({ total: 4, successful: 2, cancelled: 2 });
    expect(gate.started).toHaveLength(2);
  });

  it("graceful shutdown lets running items finish within the grace period", async () => {
    const timed = new TimedProcessor(50);
    const dir = tempDir();
    const t = await startTestApp({
      dataDir: dir,
      register: (r) => r.register("timed", timed),
      config: { graceSeconds: 5 },
    });
    const res = await t.request("POST", "/batch/jobs", {
      type: "timed",
      items: items(6),
      parallel: 2,
      chunk_size: 6,
    });
    await expect.poll(() => timed.inFlight).toBe(2);
    await t.app.stop();
    const store = await openTestStore(locationOf(t.app));
    const rows = (await store.listItems(res.body.job_id, { limit: 10, offset: 0 })).items;
    expect(rows.filter((r) => r.status === "succeeded")).toHaveLength(2);
    expect(rows.filter((r) => r.status === "queued")).toHaveLength(4);
    expect(rows.every((r) => r.status !== "running")).toBe(true);
    await store.close();
  });

  it("graceful shutdown past the grace period aborts running items and releases them; a restart finishes the job", async () => {
    const gate = new GateProcessor();
    const dir = tempDir();
    const t = await startTestApp({
      dataDir: dir,
      register: (r) => r.register("gate", gate),
      config: { graceSeconds: 0.05 },
    });
    const res = await t.request("POST", "/batch/jobs", {
      type: "gate",
      items: items(5),
      parallel: 2,
      chunk_size: 5,
    });
    await gate.startedAtLeast(2);
    await t.app.stop();
    expect(gate.aborted.sort()).toEqual(["i0", "i1"]);
    const store = await openTestStore(locationOf(t.app));
    const rows = (await store.listItems(res.body.job_id, { limit: 10, offset: 0 })).items;
    expect(rows.map((r) => [r.status, r.attempts, r.result])).toEqual(Array(5).fill(["queued", 0, null]));
    expect((await store.getJob(res.body.job_id))?.status).toBe("running");
    await store.close();

    const gate2 = new GateProcessor();
    gate2.release();
    const t2 = await startTestApp({ dataDir: dir, register: (r) => r.register("gate", gate2) });
    const done = await waitForJobEnd(t2, res.body.job_id);
    expect(done.status).toBe("completed");
    expect(gate2.started.sort()).toEqual(["i0", "i1", "i2", "i3", "i4"]);
  });

  it("prepareJob failing fails the job before any item runs", async () => {
    const gate = new GateProcessor();
    gate.release();
    const t = await startTestApp({
      register: (r) =>
        r.register("needs_model", {
          async prepareJob() {
            throw new Error("model 'x' not found");
          },
          processItem: (item, ctx) => gate.processItem(item, ctx),
        }),
    });
    const res = await t.request("POST", "/batch/jobs", { type: "needs_model", items: items(3) });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done).toMatchObject({ status: "failed", error: "model 'x' not found" });
    expect(gate.started).toHaveLength(0);
  });

  it("progress is refreshed while a job runs", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("gate", gate) });
    const res = await t.request("POST", "/batch/jobs", { type: "gate", items: items(10), parallel: 5 });
    await gate.startedAtLeast(5);
    const progressed = t.app.events.waitFor("job:progress");
    gate.releaseWaiting();
    await progressed;
    const mid = (await t.request("GET", `/batch/jobs/${res.body.job_id}`)).body;
    expect(mid.status).toBe("running");
    expect(mid.metadata.progress.processed).toBeGreaterThanOrEqual(1);
    expect(mid.metadata.progress.total).toBe(10);
    expect(mid.metadata.progress.current_item).toMatch(/^i\d$/);
    expect(mid.progress).toBe(mid.metadata.progress.percentage);
    gate.release();
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.metadata.progress).toMatchObject({
      processed: 10,
      percentage: 100,
      estimated_remaining_seconds: 0,
    });
  });
});

describe("worker pool without HTTP (library API)", () => {
  it("a pool on its own store runs a submitted job", async () => {
    const store = await openTestStore();
    const registry = new ProcessorRegistry();
    const timed = new TimedProcessor(1);
    registry.register("timed", timed);
    const events = new QueueEvents();
    const queue = new JobQueue(store, registry, events);
    const pool = new WorkerPool(store, registry, events, { maxWorkers: 1, flushMs: 5 });
    await pool.start();
    const finished = events.waitFor("job:finished");
    const job = await queue.submit({ type: "timed", items: items(25), chunkSize: 4, parallel: 4 });
    expect((await finished).status).toBe("completed");
    expect((await queue.allResults(job.id)).map((r) => r.id)).toEqual(items(25).map((i) => i.id));
    await pool.stop();
    await store.close();
  });

  it("never requeues the items it is still running when their leases lapsed (a paused process wakes up)", async () => {
    // Leases far shorter than the items, and no heartbeat before the sweep: what a process finds when it wakes
    // from a pause longer than its leases (SIGSTOP, a suspended laptop, a stalled VM).
    const timed = new TimedProcessor(400);
    const t = await startTestApp({
      register: (r) => r.register("timed", timed),
      pool: { leaseMs: 100, heartbeatMs: 60_000, sweepMs: 50 },
    });
    const res = await t.request("POST", "/batch/jobs", {
      type: "timed",
      items: items(6),
      parallel: 3,
      chunk_size: 3,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("completed");
    expect([...timed.runs.values()]).toEqual([1, 1, 1, 1, 1, 1]); // each item ran once
    expect(done.result.results.map((r: { status: string }) => r.status)).toEqual(Array(6).fill("success"));
  });
});
