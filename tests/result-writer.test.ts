import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ResultWriter } from "../src/queue/result-writer.js";
import type { ClaimedItem, ItemOutcome, JobStore } from "../src/store/job-store.js";
import type { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { failingNext, memoryStore, newJob, recordingLogger, T0 } from "./helpers/memory-store.js";

const OWNER = "host:1:test";
const LEASE_MS = 30_000;

const succeeded = (item: ClaimedItem): ItemOutcome => ({
  key: item.key,
  seq: item.seq,
  attempt: item.attempt,
  status: "succeeded",
  result: { status: "success" },
  error: null,
  finishedAt: T0 + 1,
});

describe("result writer", () => {
  let store: SqliteJobStore;
  let claimed: ClaimedItem[];
  const flushed: ItemOutcome[][] = [];
  const log = recordingLogger();

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    store = memoryStore();
    await store.createJob(newJob("job-1", 6));
    await store.startJob("job-1", T0);
    claimed = await store.claimItems("job-1", OWNER, 6, T0 + 30, T0);
    flushed.length = 0;
    log.warnings.length = 0;
    log.errors.length = 0;
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
  });

  const writer = (o: { flushSize?: number; flushMs?: number; leaseMs?: number; via?: JobStore } = {}) =>
    new ResultWriter({
      store: o.via ?? store,
      jobId: "job-1",
      owner: OWNER,
      flushSize: o.flushSize ?? 100,
      flushMs: o.flushMs ?? 50,
      leaseMs: o.leaseMs ?? LEASE_MS,
      log,
      onFlushed: (accepted) => void flushed.push(accepted),
    });
  const succeededInStore = async () =>
    (await store.listItems("job-1", { status: "succeeded", limit: 100, offset: 0 })).total;

  it("writes a batch as soon as flushSize outcomes wait, without waiting for the timer", async () => {
    const w = writer({ flushSize: 3, flushMs: 60_000 });
    w.add(succeeded(claimed[0]!), "i0");
    w.add(succeeded(claimed[1]!), "i1");
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toHaveLength(0);
    w.add(succeeded(claimed[2]!), "i2");
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed.map((b) => b.map((o) => o.seq))).toEqual([[0, 1, 2]]);
    expect(await succeededInStore()).toBe(3);
    expect((await store.getJob("job-1"))?.currentItem).toBe("i2");
  });

  it("writes what waits flushMs after the first outcome of a batch", async () => {
    const w = writer({ flushSize: 100, flushMs: 50 });
    w.add(succeeded(claimed[0]!), "i0");
    await vi.advanceTimersByTimeAsync(30);
    w.add(succeeded(claimed[1]!), "i1"); // does not push the deadline back
    await vi.advanceTimersByTimeAsync(19);
    expect(flushed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushed.map((b) => b.length)).toEqual([2]);
    expect(await succeededInStore()).toBe(2);
  });

  it("reports only the outcomes the store accepted: a stale attempt or another owner's item is fenced off", async () => {
    // Item 1's lease lapsed and the sweep gave it to another worker: this run's result no longer counts.
    await store.sweepLeases(T0 + 31, []);
    // Due again after its backoff (the default retry policy: 1 s).
    const again = await store.claimItems("job-1", "host:2:other", 1, T0 + 90, T0 + 32);
    expect(again[0]?.attempt).toBe(2);
    const w = writer();
    for (const item of claimed) w.add(succeeded(item), item.itemId);
    await w.close();
    expect(flushed.flat()).toHaveLength(0);
    // The other worker's own result is taken.
    const other = new ResultWriter({
      store,
      jobId: "job-1",
      owner: "host:2:other",
      flushSize: 100,
      flushMs: 50,
      leaseMs: LEASE_MS,
      log,
      onFlushed: (accepted) => void flushed.push(accepted),
    });
    other.add(succeeded(again[0]!), again[0]!.itemId);
    other.add({ ...succeeded(claimed[1]!), attempt: 1 }, "i1"); // not held by this owner
    await other.close();
    expect(flushed.flat().map((o) => [o.seq, o.attempt])).toEqual([[again[0]!.seq, 2]]);
  });

  it("a write that fails for a while is tried again within the lease, and the batch is kept", async () => {
    // Six failures wait 0.2+0.4+0.8+1.6+3.2+5 s: longer than the old five tries, well inside a 30 s lease.
    const via = failingNext(store, "recordOutcomes", 6);
    const w = writer({ via });
    w.add(succeeded(claimed[0]!), "i0");
    w.add(succeeded(claimed[1]!), "i1");
    const done = w.flush();
    await vi.advanceTimersByTimeAsync(11_199);
    expect(via.calls).toBe(6);
    expect(flushed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(via.calls).toBe(7);
    expect(flushed.map((b) => b.length)).toEqual([2]);
    expect(await succeededInStore()).toBe(2);
    expect(log.warnings).toHaveLength(6);
    expect(log.errors).toHaveLength(0);
  });

  it("a batch still refused after one lease period of waiting is logged and given up, its items left to the lease sweep", async () => {
    const via = failingNext(store, "recordOutcomes", 1_000, () => new Error("boom"));
    const w = writer({ via, leaseMs: 1_000 });
    w.add(succeeded(claimed[0]!), "i0");
    const first = w.flush();
    // Waits of 200 and 400 ms fit in 1 s; the next (800 ms) would not.
    await vi.advanceTimersByTimeAsync(600);
    await first;
    expect(via.calls).toBe(3);
    expect(log.errors).toEqual(["job job-1: could not write 1 results: boom"]);
    expect(await succeededInStore()).toBe(0);
    // Its item is still leased to this owner (as are the 5 never written): the sweep hands them out again.
    const swept = await store.sweepLeases(T0 + 31, []);
    expect(swept.requeued).toBe(6);
  });

  it("close writes what waits and resolves once every batch is in", async () => {
    const w = writer({ flushSize: 2, flushMs: 60_000 });
    for (const item of claimed.slice(0, 5)) w.add(succeeded(item), item.itemId);
    await w.close();
    expect(flushed.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(await succeededInStore()).toBe(5);
  });
});
