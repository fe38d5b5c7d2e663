import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { QueueEvents } from "../src/queue/events.js";
import { Retention } from "../src/queue/retention.js";
import type { ClaimedItem, JobStore } from "../src/store/job-store.js";
import type { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { silentLogger } from "../src/util/logger.js";
import { dirPart } from "../src/workspace/project-repo.js";
import { BACKEND, freshLocation, openTestStore, postgresAvailable, querySql } from "./helpers/backend.js";
import { endedJob } from "./helpers/ended-job.js";
import { newJob, T0 } from "./helpers/memory-store.js";
import { runCli } from "./helpers/server-process.js";
import { startTestApp } from "./helpers/test-app.js";

const DAY = 86_400;

/** A claimed item's outcome: it succeeded at `at`. */
const succeeded = (c: ClaimedItem, at: number) => ({
  key: c.key,
  seq: c.seq,
  attempt: c.attempt,
  status: "succeeded" as const,
  result: { status: "success" },
  error: null,
  finishedAt: at,
});

/** Ends a job at `at` (epoch seconds), its items all succeeded. */
async function jobEndedAt(store: JobStore, id: string, n: number, at: number, cancel = false): Promise<void> {
  await store.createJob(newJob(id, n, { parallel: 1000, createdAt: at - 10 }));
  if (cancel) {
    await store.cancelJob(id, at);
    return;
  }
  await store.startJob(id, at - 5);
  const claimed = await store.claimItems(id, "w", n, at + 60, at - 5);
  await store.recordOutcomes(
    id,
    "w",
    claimed.map((c) => succeeded(c, at)),
    null,
  );
  await store.finalizeJob(id, at);
}

const itemCount = async (where: ReturnType<typeof freshLocation>, jobId: string) =>
  Number((await querySql(where, "SELECT COUNT(*) AS n FROM items WHERE job_id = ?", [jobId]))[0]?.n);

describe(`retention (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)("purges one ended job at once; its items go after, in steps", async () => {
    const where = freshLocation();
    const store = await openTestStore(where);
    await endedJob(store, "noop-000000000001", 5_000, () => ({ status: "success" }));
    await store.createJob(newJob("unit-queued00001", 3));
    expect(await store.purgeJob("nope")).toBe("not_found");
    expect(await store.purgeJob("unit-queued00001")).toBe("not_ended");
    expect(await store.purgeJob("noop-000000000001")).toBe("purged");
    expect(await store.getJob("noop-000000000001")).toBeNull();
    expect((await store.listJobs({ limit: 10, offset: 0 })).jobs.map((j) => j.id)).toEqual([
      "unit-queued00001",
    ]);
    expect(await itemCount(where, "noop-000000000001")).toBe(5_000); // not yet: that is the background's
    const steps: number[] = [];
    for (let n = await store.dropPurgedItems(2_000); n > 0; n = await store.dropPurgedItems(2_000))
      steps.push(n);
    expect(steps).toEqual([2_000, 2_000, 1_000]);
    expect(await itemCount(where, "noop-000000000001")).toBe(0);
    expect(await querySql(where, "SELECT * FROM purged_jobs")).toEqual([]);
    expect(await itemCount(where, "unit-queued00001")).toBe(3); // the other job's items are untouched
    await store.close();
  });

  it.runIf(enabled)(
    "a cancelled job whose claimed items still run is not purged until they end",
    async () => {
      const store = await openTestStore();
      await store.createJob(newJob("unit-running0001", 4, { parallel: 10 }));
      await store.startJob("unit-running0001", T0);
      const claimed = await store.claimItems("unit-running0001", "w", 2, T0 + 60, T0);
      await store.cancelJob("unit-running0001", T0 + 1);
      expect(await store.purgeJob("unit-running0001")).toBe("finishing");
      await store.recordOutcomes(
        "unit-running0001",
        "w",
        claimed.map((c) => ({
          key: c.key,
          seq: c.seq,
          attempt: c.attempt,
          status: "cancelled" as const,
          result: null,
          error: null,
          finishedAt: T0 + 2,
        })),
        null,
      );
      expect(await store.purgeJob("unit-running0001")).toBe("purged");
      await store.close();
    },
  );

  it.runIf(enabled)(
    "deletes exactly the ended jobs past the age (and status) asked for, while a job runs",
    async () => {
      const where = freshLocation();
      const store = await openTestStore(where);
      const now = T0;
      await jobEndedAt(store, "unit-old-done001", 3, now - 40 * DAY);
      await jobEndedAt(store, "unit-old-cancel1", 3, now - 40 * DAY, true);
      await jobEndedAt(store, "unit-young-done1", 3, now - 2 * DAY);
      // A job that started long ago and still runs, and one queued long ago: never deleted.
      await store.createJob(newJob("unit-running0001", 50, { parallel: 5, createdAt: now - 90 * DAY }));
      await store.startJob("unit-running0001", now - 90 * DAY);
      const leased = await store.claimItems("unit-running0001", "w", 5, now + 60, now);
      await store.createJob(newJob("unit-queued00001", 2, { createdAt: now - 90 * DAY }));
      const events = new QueueEvents();
      const heard: string[][] = [];
      events.on("job:purged", (p) => heard.push(p.jobIds));
      const retention = new Retention(store, events, {
        retentionDays: 30,
        log: silentLogger,
        now: () => now,
      });

      expect(await retention.cleanup(30, ["cancelled"])).toEqual({
        deleted: 1,
        job_ids: ["unit-old-cancel1"],
      });
      expect(await retention.sweep()).toEqual({ deleted: 1, job_ids: ["unit-old-done001"] });
      expect(await retention.sweep()).toEqual({ deleted: 0, job_ids: [] });
      expect(heard).toEqual([["unit-old-cancel1"], ["unit-old-done001"]]);
      const left = (await store.listJobs({ limit: 10, offset: 0 })).jobs.map((j) => j.id).sort();
      expect(left).toEqual(["unit-queued00001", "unit-running0001", "unit-young-done1"]);
      // The running job goes on: its leased items record their outcomes, the rest is claimed.
      const accepted = await store.recordOutcomes(
        "unit-running0001",
        "w",
        leased.map((c) => succeeded(c, now + 1)),
        null,
      );
      expect(accepted).toHaveLength(5);
      expect(await store.claimItems("unit-running0001", "w", 5, now + 60, now)).toHaveLength(5);
      await vi_waitFor(async () => (await itemCount(where, "unit-old-done001")) === 0);
      await retention.stop();
      expect(await itemCount(where, "unit-old-cancel1")).toBe(0);
      expect(await itemCount(where, "unit-young-done1")).toBe(3);
      await store.close();
    },
  );

  it.runIf(BACKEND === "sqlite")(
    "a new SQLite file gives deleted jobs' space back to the file system",
    async () => {
      const where = freshLocation();
      const store = (await openTestStore(where)) as SqliteJobStore;
      expect(store.db.pragma("auto_vacuum", { simple: true })).toBe(2); // incremental
      await endedJob(store, "noop-000000000001", 20_000, (i) => ({
        status: "success",
        output: "x".repeat(200 + (i % 7)),
      }));
      const pages = () => store.db.pragma("page_count", { simple: true }) as number;
      const before = pages();
      const events = new QueueEvents();
      const retention = new Retention(store, events, { retentionDays: 30, log: silentLogger });
      await retention.purge("noop-000000000001");
      await vi_waitFor(
        async () =>
          (await itemCount(where, "noop-000000000001")) === 0 &&
          pages() < before / 4 &&
          store.db.pragma("freelist_count", { simple: true }) === 0,
      );
      expect(store.db.pragma("freelist_count", { simple: true })).toBe(0);
      await retention.stop();
      await store.close();
    },
  );
});

describe(`retention through the API (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)("DELETE ?purge=true and POST /batch/cleanup; purged jobs' files go too", async () => {
    const t = await startTestApp({ builtins: true, config: { retentionDays: 0 } });
    for (const f of ["a.py", "b.py", "c.py"]) writeFileSync(join(t.app.config.projectRoot, f), "x = 1\n");
    const submit = await t.request("POST", "/batch/validation", {
      targets: [{ path: "a.py" }, { path: "b.py" }],
      check_command: "true",
    });
    expect(submit.status).toBe(200);
    const id = submit.body.job_id as string;
    const ended = async (jobId: string) =>
      ["completed", "failed", "cancelled"].includes(
        (await t.request("GET", `/batch/jobs/${jobId}`)).body.status,
      );
    await vi_waitFor(() => ended(id));
    // What the agent would have kept of a job, on this node: its workspaces and its patches.
    const kept = [
      join(t.app.config.workspacesDir, dirPart(id)),
      join(t.app.config.dataDir, "patches", dirPart(id)),
    ];
    for (const dir of kept) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "x"), "x");
    }
    const running = await t.request("POST", "/batch/validation", {
      targets: [{ path: "c.py" }],
      check_command: "tail -f", // runs until cancelled
    });
    const runningId = running.body.job_id as string;
    await vi_waitFor(
      async () => (await t.request("GET", `/batch/jobs/${runningId}`)).body.status === "running",
    );

    const refused = await t.request("DELETE", `/batch/jobs/${runningId}?purge=true`);
    expect(refused.status).toBe(409); // a job-state conflict, as a retry of a running job is
    expect(refused.body.detail).toMatch(/has not ended: cancel it first/);
    expect((await t.request("DELETE", "/batch/jobs/validation-000000000000?purge=true")).status).toBe(404);

    const purged = t.app.events.waitFor("job:purged");
    const gone = await t.request("DELETE", `/batch/jobs/${id}?purge=true`);
    expect(gone.status).toBe(200);
    expect(gone.body).toEqual({ status: "purged", job_id: id });
    await purged;
    await vi_waitFor(async () => kept.every((d) => !existsSync(d)));
    expect((await t.request("GET", `/batch/jobs/${id}`)).status).toBe(404);
    expect(
      (await t.request("GET", "/batch/jobs")).body.jobs.map((j: { job_id: string }) => j.job_id),
    ).toEqual([runningId]);

    // The cancelled one, on demand: nothing younger than a day, then everything cancelled.
    expect((await t.request("DELETE", `/batch/jobs/${runningId}`)).status).toBe(200);
    await vi_waitFor(
      async () => (await t.request("DELETE", `/batch/jobs/${runningId}?purge=true`)).status === 200,
    );
    expect((await t.request("GET", `/batch/jobs/${runningId}`)).status).toBe(404);

    const bad = await t.request("POST", "/batch/cleanup", { older_than_days: -1, status: "running" });
    expect(bad.status).toBe(422);
    const none = await t.request("POST", "/batch/cleanup", { older_than_days: 1 });
    expect(none.body).toEqual({ deleted: 0, job_ids: [] });
  });

  it.runIf(enabled)("a server started with --retention-days sweeps what is older at once", async () => {
    const first = await startTestApp({ config: { retentionDays: 0 } });
    const dir = join(first.app.config.dataDir, "..");
    await endedJob(first.app.store, "noop-000000000001", 10, () => ({ status: "success" })); // ended in 1970
    await first.app.stop();
    const second = await startTestApp({ dataDir: dir, config: { retentionDays: 30 } });
    await vi_waitFor(
      async () => (await second.request("GET", "/batch/jobs/noop-000000000001")).status === 404,
    );
  });
});

describe("retention from the CLI", () => {
  it.runIf(BACKEND === "sqlite")(
    "`cleanup` deletes what is older; `delete` one job; bad days are a usage error",
    async () => {
      const t = await startTestApp({ config: { retentionDays: 0 } });
      await endedJob(t.app.store, "noop-000000000001", 3, () => ({ status: "success" })); // ended in 1970
      await endedJob(t.app.store, "noop-000000000002", 3, () => ({ status: "failed" }));
      const bad = await runCli(["cleanup", "--older-than-days", "soon", "--server", t.url]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--older-than-days must be a number of days/);
      const one = await runCli([
        "cleanup",
        "--older-than-days",
        "1",
        "--status",
        "failed,cancelled", // comma-separated, as retry's --include
        "--server",
        t.url,
      ]);
      expect(one).toMatchObject({ code: 0, stdout: "deleted 1 job(s)\n" });
      const del = await runCli(["delete", "noop-000000000001", "--server", t.url]);
      expect(del).toMatchObject({ code: 0, stdout: "deleted noop-000000000001\n" });
      expect((await t.request("GET", "/batch/jobs")).body.total).toBe(0);
    },
  );
});

/** Waits for what the background reaches (the items' deletion, a file removed), up to 10 s. */
function vi_waitFor(cond: () => Promise<boolean>): Promise<void> {
  return vi.waitFor(
    async () => {
      if (!(await cond())) throw new Error("not yet");
    },
    { timeout: 10_000, interval: 20 },
  );
}
