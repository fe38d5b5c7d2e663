import { describe, expect, it } from "vitest";
import { UnknownDependencyError } from "../src/domain/dependencies.js";
import type { JobStore, NewJob } from "../src/store/job-store.js";
import type { PostgresJobStore } from "../src/store/postgres/pg-store.js";
import { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { BACKEND, freshLocation, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { newJob, T0 } from "./helpers/memory-store.js";

const job = (id: string, dependsOn: string[] = [], extra: Partial<NewJob> = {}): NewJob =>
  newJob(id, 2, { type: "noop", ...(dependsOn.length ? { dependsOn } : {}), ...extra });

/** Runs a job's items to the end (all succeeded) and finalizes it. */
async function complete(store: JobStore, id: string): Promise<void> {
  expect(await store.startJob(id, T0)).toBe(true);
  const claimed = await store.claimItems(id, "w", 100, T0 + 30, T0);
  await store.recordOutcomes(
    id,
    "w",
    claimed.map((c) => ({
      key: c.key,
      seq: c.seq,
      attempt: c.attempt,
      status: "succeeded" as const,
      result: {},
      error: null,
      finishedAt: T0 + 1,
    })),
    null,
  );
  expect(await store.finalizeJob(id, T0 + 1)).toBe("completed");
}

/** Writes SQL on the store's own database (to stage what a lost release would leave). */
async function exec(store: JobStore, sql: string): Promise<void> {
  if (store instanceof SqliteJobStore) store.db.exec(sql);
  else await (store as PostgresJobStore).pool.query(sql);
}

const runnable = async (store: JobStore, exclude: string[] = []) =>
  (await store.nextRunnableJob(exclude, T0 + 10))?.id ?? null;

describe(`job dependencies in the store (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "a waiting job is never picked; its dependency's end releases it in the same write",
    async () => {
      const store = await openTestStore();
      await store.createJob(job("a"));
      await store.createJob(job("b", ["a"]));
      const b = await store.getJob("b");
      expect(b).toMatchObject({
        status: "queued",
        dependsOn: ["a"],
        waitingFor: ["a"],
        onDependencyFailure: "skip",
      });
      expect(await store.getJob("a")).toMatchObject({ dependsOn: [], waitingFor: [] });
      expect(await runnable(store)).toBe("a");
      expect(await runnable(store, ["a"])).toBeNull();
      expect(await store.startJob("b", T0)).toBe(true); // startJob itself does not look; nextRunnableJob does
      await exec(store, "UPDATE jobs SET status = 'queued' WHERE id = 'b'");
      await complete(store, "a");
      expect(await store.getJob("b")).toMatchObject({ status: "queued", dependsOn: ["a"], waitingFor: [] });
      expect(await runnable(store)).toBe("b");
      expect(await store.dependentsOf("a")).toEqual(["b"]);
      expect(await store.listJobs({ limit: 10, offset: 0 })).toMatchObject({
        jobs: expect.arrayContaining([
          expect.objectContaining({ id: "b", waitingFor: [], dependsOn: ["a"] }),
        ]),
      });
      await store.close();
    },
  );

  it.runIf(enabled)(
    "a failed dependency cancels the jobs that wait on it with skip (and theirs), not those with run or others",
    async () => {
      const store = await openTestStore();
      await store.createJob(job("a"));
      await store.createJob(job("x"));
      await store.createJob(job("b", ["a", "x"]));
      await store.createJob(job("c", ["b"]));
      await store.createJob(job("d", ["a"], { onDependencyFailure: "run" }));
      await store.createJob(job("e", ["x"]));
      await store.createJob(job("f"));
      expect(await store.failJob("a", "boom", T0 + 2)).toBe(true);
      expect(await store.getJob("b")).toMatchObject({
        status: "cancelled",
        error: "dependency a failed",
        cancelled: 2,
        waitingFor: [],
        completedAt: T0 + 2,
      });
      expect(await store.getJob("c")).toMatchObject({
        status: "cancelled",
        error: "dependency b was cancelled",
      });
      expect(await store.getJob("d")).toMatchObject({ status: "queued", waitingFor: [], error: null });
      expect(await store.getJob("e")).toMatchObject({ status: "queued", waitingFor: ["x"] });
      expect(await store.getJob("f")).toMatchObject({ status: "queued", error: null });
      const items = await store.listItems("b", { limit: 10, offset: 0 });
      expect(items.items.map((i) => i.status)).toEqual(["cancelled", "cancelled"]);
      // x ends: b is cancelled already and stays so; e runs.
      await complete(store, "x");
      expect(await store.getJob("b")).toMatchObject({ status: "cancelled", error: "dependency a failed" });
      expect(await store.getJob("e")).toMatchObject({ status: "queued", waitingFor: [] });
      await store.close();
    },
  );

  it.runIf(enabled)("unknown dependencies store nothing; ended ones apply at once", async () => {
    const store = await openTestStore();
    await store.createJob(job("a"));
    const err = await store.createJob(job("n", ["a", "ghost", "gone"])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownDependencyError);
    expect((err as UnknownDependencyError).ids).toEqual(["ghost", "gone"]);
    expect(await store.getJob("n")).toBeNull();
    expect((await store.listItems("n", { limit: 10, offset: 0 })).total).toBe(0);
    expect(await store.dependentsOf("a")).toEqual([]);

    await complete(store, "a");
    await store.createJob(job("ok", ["a"]));
    expect(await store.getJob("ok")).toMatchObject({ status: "queued", waitingFor: [], dependsOn: ["a"] });
    await store.createJob(job("z"));
    await store.cancelJob("z", T0 + 3);
    await store.createJob(job("skip", ["a", "z"]));
    expect(await store.getJob("skip")).toMatchObject({
      status: "cancelled",
      error: "dependency z was cancelled",
      cancelled: 2,
      waitingFor: [],
    });
    await store.createJob(job("run", ["z"], { onDependencyFailure: "run" }));
    expect(await store.getJob("run")).toMatchObject({
      status: "queued",
      waitingFor: [],
      onDependencyFailure: "run",
    });
    expect(await runnable(store)).toBe("ok");
    // A purged dependency is unknown to a new job; the job that depended on it keeps its list.
    expect(await store.purgeJob("a")).toBe("purged");
    expect(await store.getJob("ok")).toMatchObject({ dependsOn: ["a"], waitingFor: [] });
    await expect(store.createJob(job("late", ["a"]))).rejects.toBeInstanceOf(UnknownDependencyError);
    await store.close();
  });

  it.runIf(enabled)(
    "cancel cascades to every waiting job by default, and follows their rules without",
    async () => {
      const store = await openTestStore();
      const run = { onDependencyFailure: "run" as const };
      await store.createJob(job("a"));
      await store.createJob(job("b", ["a"], run));
      await store.createJob(job("c", ["b"], run));
      expect(await store.cancelJob("a", T0 + 1)).toBe("cancelled");
      expect(await store.getJob("b")).toMatchObject({
        status: "cancelled",
        error: "dependency a was cancelled",
      });
      expect(await store.getJob("c")).toMatchObject({
        status: "cancelled",
        error: "dependency b was cancelled",
      });

      await store.createJob(job("p"));
      await store.createJob(job("q", ["p"], run));
      await store.createJob(job("r", ["p"]));
      await store.createJob(job("s", ["r"], run));
      expect(await store.cancelJob("p", T0 + 1, false)).toBe("cancelled");
      expect(await store.getJob("q")).toMatchObject({ status: "queued", waitingFor: [] });
      expect(await store.getJob("r")).toMatchObject({
        status: "cancelled",
        error: "dependency p was cancelled",
      });
      expect(await store.getJob("s")).toMatchObject({ status: "queued", waitingFor: [] }); // run: r ended
      // Cancelling a waiting job itself: it waits no more, and its own dependency's end leaves it cancelled.
      await store.createJob(job("u"));
      await store.createJob(job("v", ["u"]));
      expect(await store.cancelJob("v", T0 + 1)).toBe("cancelled");
      expect(await store.getJob("v")).toMatchObject({
        status: "cancelled",
        waitingFor: [],
        error: "Cancelled by user",
      });
      await complete(store, "u");
      expect(await store.getJob("v")).toMatchObject({ status: "cancelled", error: "Cancelled by user" });
      await store.close();
    },
  );

  it.runIf(enabled)(
    "the safety sweep releases jobs whose dependencies ended while their release was lost",
    async () => {
      const store = await openTestStore();
      await store.createJob(job("a"));
      await store.createJob(job("b", ["a"]));
      await store.createJob(job("c"));
      await store.createJob(job("d", ["c"]));
      expect(await store.releaseEndedDependencies(T0, 100)).toEqual([]);
      await complete(store, "a");
      await store.failJob("c", "boom", T0 + 1);
      await exec(store, "UPDATE job_deps SET pending = 1");
      expect(await store.getJob("b")).toMatchObject({ waitingFor: ["a"] });
      expect((await store.releaseEndedDependencies(T0 + 2, 100)).sort()).toEqual(["a", "c"]);
      expect(await store.getJob("b")).toMatchObject({ status: "queued", waitingFor: [] });
      expect(await store.getJob("d")).toMatchObject({ status: "cancelled", error: "dependency c failed" });
      expect(await store.releaseEndedDependencies(T0 + 3, 100)).toEqual([]);
      await store.close();
    },
  );

  it.runIf(enabled)(
    "a job created while its dependency ends on another connection never waits forever",
    async () => {
      const where = freshLocation();
      const one = await openTestStore(where);
      const two = await openTestStore(where);
      for (let i = 0; i < 25; i++) {
        const dep = `dep${i}`;
        await one.createJob(job(dep));
        await one.startJob(dep, T0);
        const claimed = await one.claimItems(dep, "w", 10, T0 + 30, T0);
        await one.recordOutcomes(
          dep,
          "w",
          claimed.map((c) => ({
            ...c,
            status: "succeeded" as const,
            result: {},
            error: null,
            finishedAt: T0,
          })),
          null,
        );
        await Promise.all([two.createJob(job(`w${i}`, [dep])), one.finalizeJob(dep, T0 + 1)]);
        expect(await one.getJob(`w${i}`)).toMatchObject({ status: "queued", waitingFor: [] });
      }
      expect(await one.releaseEndedDependencies(T0 + 2, 100)).toEqual([]);
      await one.close();
      await two.close();
    },
  );
});
