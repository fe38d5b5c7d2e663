import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { hasPostgresServer, startPrivatePostgres } from "./helpers/private-postgres.js";
import { startServerProcess } from "./helpers/server-process.js";
import { jobEnd, runsStarted, submitSleepJob } from "./helpers/sleep-jobs.js";
import { subDir, tempDir } from "./helpers/temp.js";

const PLUGIN = join(import.meta.dirname, "fixtures", "sleep-plugin.mjs");

async function itemRows(url: string, jobId: string): Promise<{ status: string; n: number }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      "SELECT status, COUNT(*)::int AS n FROM items WHERE job_id = $1 GROUP BY status ORDER BY status",
      [jobId],
    );
    return rows as { status: string; n: number }[];
  } finally {
    await c.end();
  }
}

describe("a PostgreSQL restart mid-job (an API node and two workers, real processes)", () => {
  it.runIf(hasPostgresServer()).each(["fast", "immediate", "terminate"] as const)(
    "%s (pg_ctl restart -m fast|immediate, or pg_terminate_backend of every connection): the job completes, one result per item, both workers alive",
    { timeout: 120_000 },
    async (mode) => {
      const db = await startPrivatePostgres();
      const dir = tempDir();
      const log = join(dir, "runs.log");
      const common = [
        "--database-url",
        db.url,
        "--project-root",
        subDir(dir, "p"),
        "--data-dir",
        join(dir, "d"),
      ];
      const api = await startServerProcess([
        "serve",
        "--port",
        "0",
        "--workers",
        "0",
        "--plugin",
        PLUGIN,
        ...common,
      ]);
      const workers = [
        await startServerProcess(["worker", "--workers", "2", "--plugin", PLUGIN, ...common]),
        await startServerProcess(["worker", "--workers", "2", "--plugin", PLUGIN, ...common]),
      ];
      const total = 300;
      const job_id = await submitSleepJob(api.url, log, total, { sleepMs: 20, parallel: 8, chunkSize: 4 });
      const starts = () => runsStarted(log);
      await expect.poll(starts, { timeout: 30_000, interval: 20 }).toBeGreaterThan(total / 5);
      if (mode === "terminate") {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        await c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        );
        await c.end();
      } else db.restart(mode);
      const job = await jobEnd(api.url, job_id, 90_000);
      expect(job.status).toBe("completed");
      expect(await itemRows(db.url, job_id)).toEqual([{ status: "succeeded", n: total }]);
      for (const w of workers) expect(w.child.exitCode).toBeNull(); // alive
      const runs = starts();
      expect(runs).toBeGreaterThanOrEqual(total);
      expect(runs - total).toBeLessThanOrEqual(8 * 4); // re-runs within what was in flight (and claimed)
    },
  );
});
