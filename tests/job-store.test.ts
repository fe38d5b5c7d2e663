import { describe, expect, it } from "vitest";
import { QueueEvents } from "../src/queue/events.js";
import { ProcessorRegistry } from "../src/queue/processor.js";
import { WorkerPool } from "../src/queue/worker-pool.js";
import type { ClaimedItem, NewJob } from "../src/store/job-store.js";
import type { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { TimedProcessor } from "./fixtures/test-processors.js";
import { BACKEND, freshLocation, openTestStore, postgresAvailable, querySql } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { newJob, T0 } from "./helpers/memory-store.js";

const job = (id: string, n: number, extra: Partial<NewJob> = {}): NewJob =>
  newJob(id, n, { type: "noop", ...extra });

const ok = (item: ClaimedItem, attempt = item.attempt) => ({
  key: item.key,
  seq: item.seq,
  attempt,
  status: "succeeded" as const,
  result: { status: "success" },
  error: null,
  finishedAt: T0 + 1,
});

describe(`job store (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());
  const open = () => openTestStore();

  it.runIf(BACKEND === "sqlite")(
    "uses WAL, synchronous=NORMAL and a short blocking busy wait (longer ones wait off the thread), and records its migrations",
    async () => {
      const store = (await open()) as SqliteJobStore;
      expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(store.db.pragma("synchronous", { simple: true })).toBe(1);
      expect(store.db.pragma("busy_timeout", { simple: true })).toBe(20);
      expect(store.db.prepare("SELECT version FROM schema_migrations").pluck().all()).toEqual([
        1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12,
      ]);
      await store.close();
    },
  );

  it.runIf(enabled)(
    "result cache: entries answer until they expire, lookups are counted, expired ones go in batches",
    async () => {
      const store = await open();
      const entry = (key: string, expiresAt: number, jobId = "job-a") => ({
        keyHash: key,
        result: { stdout: `out ${key}`, nested: { n: 1 } },
        jobId,
        createdAt: T0,
        expiresAt,
      });
      expect(await store.findCachedResult("k1", T0)).toBeNull();
      await store.saveCachedResult(entry("k1", T0 + 60));
      expect(await store.findCachedResult("k1", T0 + 59)).toEqual(entry("k1", T0 + 60));
      expect(await store.findCachedResult("k1", T0 + 60)).toBeNull(); // expired at its time
      // A later success of the same key replaces the entry.
      await store.saveCachedResult(entry("k1", T0 + 120, "job-b"));
      expect((await store.findCachedResult("k1", T0 + 60))?.jobId).toBe("job-b");
      expect(await store.cacheCounts(T0)).toEqual({ hits: 2, misses: 2, entries: 1 });
      for (let i = 0; i < 5; i++) await store.saveCachedResult(entry(`old${i}`, T0 + 10));
      expect(await store.dropExpiredCachedResults(T0 + 10, 3)).toBe(3);
      expect(await store.dropExpiredCachedResults(T0 + 10, 3)).toBe(2);
      expect(await store.dropExpiredCachedResults(T0 + 10, 3)).toBe(0);
      expect((await store.cacheCounts(T0)).entries).toBe(1);
      await store.close();
    },
  );

  it.runIf(enabled)("reopening an existing database applies no migration twice", async () => {
    const where = freshLocation();
    const a = await openTestStore(where);
    await a.createJob(job("noop-aaaaaaaaaaaa", 2));
    await a.close();
    const b = await openTestStore(where);
    expect((await b.getJob("noop-aaaaaaaaaaaa"))?.total).toBe(2);
    await b.close();
  });

  it.runIf(enabled)("claims in order, a chunk at a time, only for running jobs", async () => {
    const store = await open();
    await store.createJob(job("noop-000000000001", 25, { parallel: 100 }));
    expect(await store.claimItems("noop-000000000001", "w", 10, T0 + 30, T0)).toEqual([]); // still queued
    await store.startJob("noop-000000000001", T0);
    const a = await store.claimItems("noop-000000000001", "w", 10, T0 + 30, T0);
    const b = await store.claimItems("noop-000000000001", "w", 10, T0 + 30, T0);
    const c = await store.claimItems("noop-000000000001", "w", 10, T0 + 30, T0);
    expect(a.map((i) => i.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b[0]?.seq).toBe(10);
    expect(c.map((i) => i.itemId)).toEqual(["i20", "i21", "i22", "i23", "i24"]);
    expect(a[0]).toMatchObject({ attempt: 1, payload: { id: "i0" } });
    await store.close();
  });

  it.runIf(enabled)("fences results: a stale attempt or another owner cannot write", async () => {
    const store = await open();
    const id = "noop-000000000002";
    await store.createJob(job(id, 2));
    await store.startJob(id, T0);
    await store.claimItems(id, "old", 2, T0 + 30, T0);
    // The lease expires; the sweep requeues; a new owner claims (attempt 2).
    const swept = await store.sweepLeases(T0 + 31, []);
    expect(swept).toEqual({ requeued: 2, abandoned: 0, jobIds: [id] });
    // Each lost try waits for its backoff (the default policy: 1 s) before it is claimed again.
    expect(await store.claimItems(id, "new", 2, T0 + 61, T0 + 31.5)).toEqual([]);
    const again = await store.claimItems(id, "new", 2, T0 + 61, T0 + 32);
    expect(again.map((i) => i.attempt)).toEqual([2, 2]);
    const [a, b] = again as [ClaimedItem, ClaimedItem];
    expect(await store.recordOutcomes(id, "old", [ok(a, 1)], "i0")).toEqual([]);
    expect(await store.recordOutcomes(id, "new", [ok(a, 1)], "i0")).toEqual([]); // right owner, stale attempt
    expect(await store.recordOutcomes(id, "new", [ok(a), ok(b)], "i1")).toHaveLength(2);
    expect(await store.recordOutcomes(id, "new", [ok(a)], "i0")).toEqual([]); // finished stays finished
    const j = await store.getJob(id);
    expect(j).toMatchObject({ succeeded: 2, failed: 0, currentItem: "i1" });
    expect(await store.finalizeJob(id, T0 + 62)).toBe("completed");
    await store.close();
  });

  it.runIf(enabled)("an item whose worker keeps dying fails after max_attempts", async () => {
    const store = await open();
    const id = "noop-000000000003";
    await store.createJob(job(id, 1, { maxAttempts: 2 }));
    await store.startJob(id, T0);
    await store.claimItems(id, "a", 1, T0 + 30, T0);
    expect((await store.sweepLeases(T0 + 31, [])).requeued).toBe(1);
    await store.claimItems(id, "b", 1, T0 + 61, T0 + 32);
    expect(await store.sweepLeases(T0 + 62, [])).toMatchObject({ requeued: 0, abandoned: 1 });
    const items = (await store.listItems(id, { limit: 5, offset: 0 })).items;
    expect(items[0]).toMatchObject({ status: "failed", attempts: 2 });
    expect(items[0]?.error).toMatch(/max_attempts=2/);
    expect(await store.idleRunningJobs()).toEqual([id]);
    expect(await store.finalizeJob(id, T0 + 63)).toBe("failed");
    expect((await store.getJob(id))?.error).toBe("1 of 1 items failed");
    await store.close();
  });

  it.runIf(enabled)("pages items failed first, in order, at any offset and with filters", async () => {
    const store = await open();
    const id = "noop-00000000000f";
    await store.createJob(job(id, 30, { parallel: 30 }));
    await store.startJob(id, T0);
    const claimed = await store.claimItems(id, "w", 20, T0 + 30, T0); // seqs 20-29 stay queued
    const failing = new Set([3, 7, 12, 19]);
    await store.recordOutcomes(
      id,
      "w",
      claimed.map((c) => (failing.has(c.seq) ? { ...ok(c), status: "failed" as const, error: "no" } : ok(c))),
      null,
    );
    const order = [...failing, ...Array.from({ length: 30 }, (_, i) => i).filter((i) => !failing.has(i))];
    for (const [offset, limit] of [
      [0, 30],
      [0, 3],
      [2, 4],
      [4, 5],
      [10, 50],
      [29, 5],
      [30, 5],
    ] as const) {
      const page = await store.listItems(id, { limit, offset, failedFirst: true });
      expect(page.items.map((i) => i.seq)).toEqual(order.slice(offset, offset + limit));
      expect(page.total).toBe(30);
    }
    const filtered = await store.listItems(id, {
      limit: 10,
      offset: 1,
      failedFirst: true,
      status: ["failed", "queued"],
    });
    expect(filtered.items.map((i) => i.seq)).toEqual([7, 12, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(filtered.total).toBe(14);
    await store.close();
  });

  it.runIf(enabled)("renewed leases do not expire; dead owners are swept at once", async () => {
    const store = await open();
    const id = "noop-000000000004";
    await store.createJob(job(id, 4, { parallel: 4 }));
    await store.startJob(id, T0);
    await store.claimItems(id, "alive", 2, T0 + 30, T0);
    await store.claimItems(id, "dead", 2, T0 + 30, T0);
    expect((await store.leaseOwners()).sort()).toEqual(["alive", "dead"]);
    expect(await store.renewLeases("alive", T0 + 90)).toBe(2);
    expect(await store.sweepLeases(T0 + 1, ["dead"])).toMatchObject({ requeued: 2 });
    expect(await store.sweepLeases(T0 + 60, [])).toMatchObject({ requeued: 0 });
    await store.close();
  });

  it.runIf(enabled)("the README's analysis query runs on the jobs table", async () => {
    const where = freshLocation();
    const store = await openTestStore(where);
    await store.createJob(job("noop-000000000005", 1));
    await store.startJob("noop-000000000005", T0);
    const [item] = await store.claimItems("noop-000000000005", "w", 1, T0 + 30, T0);
    await store.recordOutcomes("noop-000000000005", "w", [ok(item!)], "i0");
    await store.finalizeJob("noop-000000000005", T0 + 4);
    await store.close();
    const rows = await querySql(
      where,
      `SELECT type, COUNT(*) as total, SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) as completed,
        AVG(completed_at - started_at) as avg_duration FROM jobs GROUP BY type`,
    );
    expect(rows.map((r) => ({ ...r, total: Number(r.total), completed: Number(r.completed) }))).toEqual([
      { type: "noop", total: 1, completed: 1, avg_duration: 4 },
    ]);
  });

  it.runIf(enabled)(
    "lease expiry under a fake clock: another pool picks the items up, each finished item runs once",
    async () => {
      const store = await open();
      const id = "timed-000000000006";
      await store.createJob({ ...job(id, 6, { parallel: 6 }), type: "timed" });
      await store.startJob(id, T0);
      // A "lost" node holds items 0-2 under a lease that is still valid at T0.
      await store.claimItems(id, "elsewhere:1:dead", 3, T0 + 30, T0);
      const clock = new FakeClock(T0 * 1000);
      const registry = new ProcessorRegistry();
      const timed = new TimedProcessor(1);
      registry.register("timed", timed);
      const events = new QueueEvents();
      const pool = new WorkerPool(store, registry, events, {
        clock,
        flushMs: 5,
        sweepMs: 3_600_000,
        pollMs: 3_600_000,
      });
      await pool.start();
      await expect.poll(() => timed.runs.size).toBe(3); // only the free items
      // … and their results committed (a lease that expires before its result is written is re-run: at least once).
      await expect.poll(async () => (await store.getJob(id))?.succeeded).toBe(3);
      clock.advance(31_000);
      const finished = events.waitFor("job:finished");
      await pool.sweep();
      clock.advance(1_000); // the lost items' backoff (the default retry policy: 1 s)
      pool.wake();
      expect(await finished).toEqual({ jobId: id, status: "completed" });
      expect([...timed.runs.values()]).toEqual([1, 1, 1, 1, 1, 1]);
      await pool.stop();
      await store.close();
    },
  );

  it.runIf(BACKEND === "postgres" && enabled)(
    "a shared store caps leased items per job at parallel, across owners",
    async () => {
      const store = await open();
      const id = "noop-000000000007";
      await store.createJob(job(id, 10, { parallel: 3 }));
      await store.startJob(id, T0);
      expect(await store.claimItems(id, "node-a", 10, T0 + 30, T0)).toHaveLength(3);
      expect(await store.claimItems(id, "node-b", 10, T0 + 30, T0)).toHaveLength(0);
      expect(await store.nextRunnableJob([], T0)).toBeNull(); // every slot taken: not runnable elsewhere
      const [first] = (await store.listItems(id, { status: "running", limit: 1, offset: 0 })).items;
      expect(first?.workerId).toBe("node-a");
      await store.close();
    },
  );

  it.runIf(BACKEND === "postgres" && enabled)(
    "parallel still holds after items leave their leases every way: results, a refused late result, release, sweep",
    async () => {
      const where = freshLocation();
      const store = await openTestStore(where);
      const id = "noop-000000000008";
      await store.createJob(job(id, 12, { parallel: 3 }));
      await store.startJob(id, T0);
      const a = await store.claimItems(id, "node-a", 10, T0 + 30, T0);
      expect(a).toHaveLength(3);
      // Two results free two slots; a third from a wrong attempt is refused and frees none.
      const accepted = await store.recordOutcomes(id, "node-a", [ok(a[0]!), ok(a[1]!), ok(a[2]!, 9)], null);
      expect(accepted).toHaveLength(2);
      const b = await store.claimItems(id, "node-b", 10, T0 + 30, T0);
      expect(b).toHaveLength(2);
      expect(await store.claimItems(id, "node-b", 10, T0 + 30, T0)).toHaveLength(0);
      // Released items free their slots.
      expect(await store.releaseItems(id, "node-b", [b[0]!.key])).toBe(1);
      expect(await store.claimItems(id, "node-c", 10, T0 + 30, T0)).toHaveLength(1);
      expect(await store.claimItems(id, "node-c", 10, T0 + 30, T0)).toHaveLength(0);
      // Expired leases, swept: every slot free again, and no more than `parallel`.
      const swept = await store.sweepLeases(T0 + 31, []);
      expect(swept.requeued).toBe(3);
      expect(await store.claimItems(id, "node-d", 10, T0 + 90, T0 + 31)).toHaveLength(3);
      expect(await store.claimItems(id, "node-e", 10, T0 + 90, T0 + 31)).toHaveLength(0);
      const [row] = await querySql(
        where,
        "SELECT leased, (SELECT COUNT(*)::int FROM items WHERE job_id = ? AND status = 'running') AS running FROM jobs WHERE id = ?",
        [id, id],
      );
      expect(row).toEqual({ leased: 3, running: 3 });
      await store.close();
    },
  );
});
