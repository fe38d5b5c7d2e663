import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BACKEND, freshDatabaseUrl, postgresAvailable, querySql } from "./helpers/backend.js";
import { type ServerProcess, serveArgs, startServerProcess, TEST_PLUGIN } from "./helpers/server-process.js";
import { jobEnd, runsStarted, startsByItem, submitSleepJob } from "./helpers/sleep-jobs.js";
import { subDir, tempDir } from "./helpers/temp.js";

/** Longer than a lease (30 s): the paused process's leases run out while it sleeps. */
const PAUSE_MS = 40_000;

/** A paused process (SIGSTOP, a suspended laptop, a VM migrating) wakes up with its runs still in flight. */
async function pause(p: ServerProcess): Promise<void> {
  p.child.kill("SIGSTOP");
  await new Promise((r) => setTimeout(r, PAUSE_MS));
  p.child.kill("SIGCONT");
}

describe(`a process paused for ${PAUSE_MS / 1000} s mid-job, then resumed (${BACKEND}, real processes)`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "no item runs three times, no result is discarded, the job completes and the paused process lives on",
    { timeout: 150_000 },
    async () => {
      const dir = tempDir();
      const log = join(dir, "runs.log");
      const databaseUrl = BACKEND === "postgres" ? freshDatabaseUrl() : null;
      let api: ServerProcess;
      let paused: ServerProcess;
      let others: ServerProcess[] = [];
      let common: string[] = [];
      if (databaseUrl) {
        // An API node and two worker nodes; one worker is paused, the other takes over its expired leases.
        common = ["--database-url", databaseUrl, "--project-root", subDir(dir, "p"), "--plugin", TEST_PLUGIN];
        api = await startServerProcess(["serve", "--port", "0", "--workers", "0", ...common]);
        paused = await startServerProcess(["worker", "--workers", "2", ...common]);
      } else {
        // One server runs everything: it must not take the items it is still running for lost.
        api = paused = await startServerProcess(serveArgs(dir));
      }
      const total = 200;
      const job_id = await submitSleepJob(api.url, log, total, { sleepMs: 60, parallel: 8, chunkSize: 4 });
      const pausedPid = String(paused.child.pid);
      const startedByPaused = () =>
        [...startsByItem(log).values()].filter((p) => p.includes(pausedPid)).length;
      await expect.poll(startedByPaused, { timeout: 30_000, interval: 10 }).toBeGreaterThan(8);
      // The other worker comes once the paused one holds the job (two started at once, either may take every
      // slot of it: a node re-claims as soon as its results are written).
      if (databaseUrl) others = [await startServerProcess(["worker", "--workers", "2", ...common])];
      await pause(paused);
      const job = await jobEnd(api.url, job_id, 90_000);
      expect(job.status).toBe("completed");
      expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
      const where = { databasePath: join(dir, "data", "batch_jobs.db"), databaseUrl };
      const rows = await querySql(where, "SELECT item_id, status, result FROM items WHERE job_id = ?", [
        job_id,
      ]);
      expect(rows.filter((r) => r.status === "succeeded" && r.result !== null)).toHaveLength(total);
      const runs = startsByItem(log);
      const thrice = [...runs].filter(([, pids]) => pids.length >= 3);
      expect(thrice, "items run three times or more").toEqual([]);
      if (!databaseUrl)
        expect(runsStarted(log)).toBe(total); // alone, it re-runs nothing
      // Another node may re-run what the paused one held (its leases ran out), nothing more.
      else expect(runsStarted(log) - total).toBeLessThanOrEqual(8);
      for (const p of [paused, ...others]) expect(p.child.exitCode).toBeNull();
    },
  );
});
