import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type QueueEventMap, QueueEvents } from "../src/queue/events.js";
import { JobRunner } from "../src/queue/job-runner.js";
import { type Processor, ProcessorRegistry } from "../src/queue/processor.js";
import type { ItemRecord, NewJob } from "../src/store/job-store.js";
import type { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { GateProcessor, noopProcessor } from "./fixtures/test-processors.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { memoryStore, newJob, recordingLogger } from "./helpers/memory-store.js";

const OWNER = "host:1:test";

describe("job runner", () => {
  let store: SqliteJobStore;
  let events: QueueEvents;
  let registry: ProcessorRegistry;
  let clock: FakeClock;
  const log = recordingLogger();

  beforeEach(() => {
    store = memoryStore();
    events = new QueueEvents();
    registry = new ProcessorRegistry();
    clock = new FakeClock();
    log.warnings.length = 0;
    log.errors.length = 0;
  });
  afterEach(() => store.close());

  const runner = async (job: NewJob): Promise<JobRunner> => {
    await store.createJob(job);
    const record = await store.getJob(job.id);
    if (!record) throw new Error("job not stored");
    return new JobRunner(
      {
        store,
        registry,
        events,
        clock,
        log,
        owner: OWNER,
        workerId: "host:1",
        leaseMs: 30_000,
        flushMs: 5,
        flushSize: 100,
      },
      record,
    );
  };
  const items = async (jobId: string): Promise<ItemRecord[]> =>
    (await store.listItems(jobId, { limit: 1000, offset: 0 })).items;
  const collect = <K extends keyof QueueEventMap>(name: K): QueueEventMap[K][] => {
    const seen: QueueEventMap[K][] = [];
    events.on(name, (p) => void seen.push(p));
    return seen;
  };

  it("runs every item once, at most `parallel` at a time, commits each outcome and ends the job", async () => {
    const gate = new GateProcessor();
    registry.register("unit", gate);
    const completed = collect("item:completed");
    const finished = collect("job:finished");
    const r = await runner(
      newJob("job-1", 7, {
        maxAttempts: 1, // no automatic retry (see retries.test.ts)
        parallel: 3,
        chunkSize: 2,
        items: Array.from({ length: 7 }, (_, i) => ({
          itemId: `i${i}`,
          payload: i === 4 ? { id: `i${i}`, fail: true } : { id: `i${i}` },
        })),
      }),
    );
    const run = r.run();
    await gate.startedAtLeast(3);
    expect(gate.inFlight).toBe(3);
    gate.release();
    await run;
    expect(gate.maxInFlight).toBe(3);
    expect([...gate.started].sort()).toEqual(["i0", "i1", "i2", "i3", "i4", "i5", "i6"]);
    const job = await store.getJob("job-1");
    // One failed item fails the job, with the counts.
    expect(job).toMatchObject({
      status: "failed",
      succeeded: 6,
      failed: 1,
      startedAt: clock.now() / 1000,
    });
    const byId = new Map((await items("job-1")).map((i) => [i.itemId, i]));
    expect(byId.get("i0")?.result).toEqual({ status: "success", output: "done i0" });
    expect(byId.get("i4")).toMatchObject({
      status: "failed",
      error: "asked to fail",
      result: { status: "failed", failure: "error", output: "bad", error: "asked to fail" },
    });
    expect(completed.map((e) => e.itemId).sort()).toEqual(["i0", "i1", "i2", "i3", "i4", "i5", "i6"]);
    expect(completed.every((e) => typeof e.durationSeconds === "number")).toBe(true);
    expect(finished).toEqual([{ jobId: "job-1", status: "failed" }]);
  });

  it("an item that throws fails with the error's message; the others still run", async () => {
    const gate = new GateProcessor();
    gate.release();
    registry.register("unit", gate);
    const r = await runner(
      newJob("job-t", 2, {
        maxAttempts: 1,
        items: [
          { itemId: "a", payload: { id: "a", throw: "kaput" } },
          { itemId: "b", payload: { id: "b" } },
        ],
      }),
    );
    await r.run();
    const [a, b] = await items("job-t");
    expect(a).toMatchObject({
      status: "failed",
      error: "kaput",
      result: { status: "failed", error: "kaput" },
    });
    expect(b?.status).toBe("succeeded");
    expect(await store.getJob("job-t")).toMatchObject({ status: "failed", succeeded: 1, failed: 1 });
  });

  it("a job type with no processor fails the job with the reason, and no item runs", async () => {
    const finished = collect("job:finished");
    const r = await runner(newJob("job-2", 3));
    await r.run();
    expect(await store.getJob("job-2")).toMatchObject({
      status: "failed",
      error: "No processor registered for job type: unit",
    });
    expect(finished).toEqual([{ jobId: "job-2", status: "failed" }]);
    expect(log.warnings).toEqual(["job job-2 failed: No processor registered for job type: unit"]);
  });

  it("prepareJob throwing fails the job with its message before any item runs; disposeJob is not called", async () => {
    let ran = 0;
    let disposed = 0;
    const p: Processor = {
      async prepareJob() {
        throw new Error("model llama9 not found");
      },
      async disposeJob() {
        disposed++;
      },
      async processItem() {
        ran++;
        return { status: "succeeded" };
      },
    };
    registry.register("unit", p);
    const r = await runner(newJob("job-3", 4));
    await r.run();
    expect(await store.getJob("job-3")).toMatchObject({ status: "failed", error: "model llama9 not found" });
    expect(ran).toBe(0);
    expect(disposed).toBe(0);
  });

  it("hands prepareJob's session to every item and disposes it once at the end", async () => {
    const sessions: unknown[] = [];
    const disposed: unknown[] = [];
    registry.register("unit", {
      prepareJob: async (job) => ({ for: job.id }),
      disposeJob: async (_job, session) => void disposed.push(session),
      async processItem(_item, ctx) {
        sessions.push(ctx.session);
        return { status: "succeeded" };
      },
    });
    await (await runner(newJob("job-s", 3))).run();
    expect(sessions).toEqual([{ for: "job-s" }, { for: "job-s" }, { for: "job-s" }]);
    expect(disposed).toEqual([{ for: "job-s" }]);
  });

  it("cancel mid-job aborts running items at once; claimed items never start; all end cancelled", async () => {
    const gate = new GateProcessor();
    registry.register("unit", gate);
    const finished = collect("job:finished");
    const r = await runner(newJob("job-4", 6, { parallel: 2, chunkSize: 10 }));
    const run = r.run();
    await gate.startedAtLeast(2);
    expect(await store.cancelJob("job-4", clock.now() / 1000)).toBe("cancelled");
    r.cancel();
    await run;
    expect(gate.started).toEqual(["i0", "i1"]);
    expect(gate.aborted.sort()).toEqual(["i0", "i1"]);
    const all = await items("job-4");
    expect(all.map((i) => i.status)).toEqual(Array(6).fill("cancelled"));
    // Those that ran say so in their result; those never started have none.
    expect(all.slice(0, 2).map((i) => i.result)).toEqual([
      { status: "cancelled", error: "Cancelled by user" },
      { status: "cancelled", error: "Cancelled by user" },
    ]);
    expect(all.slice(2).every((i) => i.result === null && i.error === "Cancelled by user")).toBe(true);
    expect(await store.getJob("job-4")).toMatchObject({ status: "cancelled", cancelled: 6 });
    expect(finished).toEqual([]); // the cancel itself reports the end, not the runner
  });

  it("an item that succeeds although the job was cancelled keeps its success", async () => {
    let cancel: () => void = () => undefined;
    registry.register("unit", {
      async processItem() {
        cancel();
        return { status: "succeeded", fields: { output: "made it" } };
      },
    });
    const r = await runner(newJob("job-5", 1));
    cancel = () => r.cancel();
    await r.run();
    expect((await items("job-5"))[0]).toMatchObject({
      status: "succeeded",
      result: { status: "success", output: "made it" },
    });
  });

  it("drain: running items finish and are written, claimed ones go back to the queue uncounted; the job stays running", async () => {
    const gate = new GateProcessor();
    registry.register("unit", gate);
    const r = await runner(newJob("job-6", 5, { parallel: 2, chunkSize: 10 }));
    const run = r.run();
    await gate.startedAtLeast(2);
    r.drain();
    gate.release();
    await run;
    const all = await items("job-6");
    expect(all.map((i) => i.status)).toEqual(["succeeded", "succeeded", "queued", "queued", "queued"]);
    expect(all.slice(2).every((i) => i.attempts === 0)).toBe(true);
    expect((await store.getJob("job-6"))?.status).toBe("running");
  });

  it("interrupt: running items are aborted and given back to the queue, not failed", async () => {
    const gate = new GateProcessor();
    registry.register("unit", gate);
    const r = await runner(newJob("job-7", 3, { parallel: 3 }));
    const run = r.run();
    await gate.startedAtLeast(3);
    r.interrupt();
    await run;
    expect(gate.aborted.sort()).toEqual(["i0", "i1", "i2"]);
    const all = await items("job-7");
    expect(all.map((i) => [i.status, i.attempts])).toEqual([
      ["queued", 0],
      ["queued", 0],
      ["queued", 0],
    ]);
    expect((await store.getJob("job-7"))?.status).toBe("running");
  });

  it("forceRelease gives back the leases of items that ignore their signal; their late outcome is not written", async () => {
    let finish: () => void = () => undefined;
    const started: string[] = [];
    registry.register("unit", {
      async processItem(item) {
        started.push(String(item.id));
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return { status: "succeeded" };
      },
    });
    const r = await runner(newJob("job-8", 1));
    const run = r.run();
    while (started.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    r.interrupt(); // ignored by the item
    await r.forceRelease();
    expect((await items("job-8"))[0]).toMatchObject({ status: "queued", attempts: 0 });
    finish();
    await run;
    expect((await items("job-8"))[0]).toMatchObject({ status: "queued", attempts: 0, result: null });
  });

  it("an outcome for an item whose lease was lost to another worker is not counted, reported nor finalized", async () => {
    const gate = new GateProcessor();
    registry.register("unit", gate);
    const completed = collect("item:completed");
    const finished = collect("job:finished");
    const r = await runner(newJob("job-l", 1));
    const run = r.run();
    await gate.startedAtLeast(1);
    // This process looked dead for longer than the lease: the sweep requeued the item and another took it.
    clock.advance(31_000);
    expect((await store.sweepLeases(clock.now() / 1000, [])).requeued).toBe(1);
    clock.advance(1_000); // its backoff (the default retry policy: 1 s)
    const other = await store.claimItems(
      "job-l",
      "host:2:other",
      1,
      clock.now() / 1000 + 30,
      clock.now() / 1000,
    );
    expect(other[0]?.attempt).toBe(2);
    gate.release();
    await run;
    expect(completed).toEqual([]);
    expect(finished).toEqual([]);
    expect((await items("job-l"))[0]).toMatchObject({ status: "running", attempts: 2, result: null });
    expect(await store.getJob("job-l")).toMatchObject({ status: "running", succeeded: 0 });
  });

  it("lets the event loop turn at least every 128 items started, across chunks of one", async () => {
    let started = 0;
    registry.register("unit", {
      async processItem() {
        started++;
        return { status: "succeeded" };
      },
    });
    const r = await runner(newJob("job-9", 300, { chunkSize: 1, parallel: 4 }));
    // Without the yields every item would start and finish in microtasks before this callback.
    const startedBeforeTurn = new Promise<number>((resolve) => setImmediate(() => resolve(started)));
    await r.run();
    expect(await startedBeforeTurn).toBeLessThanOrEqual(128);
    expect((await store.getJob("job-9"))?.succeeded).toBe(300);
  });

  it("one job:progress per committed batch, after its item events", async () => {
    registry.register("unit", noopProcessor);
    const order: string[] = [];
    events.on("item:completed", () => void order.push("item"));
    events.on("job:progress", () => void order.push("progress"));
    await (await runner(newJob("job-10", 4, { parallel: 4 }))).run();
    expect(order.filter((e) => e === "item")).toHaveLength(4);
    // item, item, ..., progress, item, ..., progress: every batch's items, then its one progress.
    const batches = order.join(",").split("progress");
    expect(batches.at(-1)).toBe("");
    expect(batches.slice(0, -1).every((b) => /^,?item(,item)*,$/.test(b))).toBe(true);
  });
});
