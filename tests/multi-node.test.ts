import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freshDatabaseUrl, postgresAvailable, querySql } from "./helpers/backend.js";
import { startServerProcess } from "./helpers/server-process.js";
import { startsByItem } from "./helpers/sleep-jobs.js";
import { subDir, tempDir } from "./helpers/temp.js";

const PLUGIN = join(import.meta.dirname, "fixtures", "sleep-plugin.mjs");

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

describe("several nodes on one PostgreSQL database (real processes)", async () => {
  const enabled = await postgresAvailable();

  async function cluster() {
    const dir = tempDir();
    const url = freshDatabaseUrl();
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const common = [
      "--database-url",
      url,
      "--project-root",
      subDir(dir, "p"),
      "--data-dir",
      join(dir, "d"),
      "--plugin",
      PLUGIN,
    ];
    const api = await startServerProcess(["serve", "--port", "0", "--workers", "0", ...common]);
    const w1 = await startServerProcess(["worker", "--workers", "2", ...common]);
    const w2 = await startServerProcess(["worker", "--workers", "2", ...common]);
    return { dir, url, log, api, w1, w2, where: { databasePath: "", databaseUrl: url } };
  }

  it.runIf(enabled)(
    "items spread over two workers; kill -9 of one mid-job; one result per item, none re-run",
    async () => {
      const { log, api, w1, w2, where } = await cluster();
      // Enough work (~2.4 s at parallel 8) for the second worker to win some claims from the first, which
      // re-claims as soon as its own results are written (issue 18: slots handed over between nodes).
      const total = 480;
      const res = await fetch(`${api.url}/batch/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "test_sleep",
          items: Array.from({ length: total }, (_, i) => ({ id: `i${i}` })),
          options: { log_file: log, sleep_ms: 40 },
          parallel: 8,
          chunk_size: 4,
        }),
      });
      const { job_id } = (await res.json()) as { job_id: string };
      await expect
        .poll(async () => new Set([...startsByItem(log).values()].flat()).size, {
          timeout: 20_000,
          interval: 20,
        })
        .toBe(2); // both workers have started items
      await expect
        .poll(
          async () =>
            (await getJson(`${api.url}/batch/jobs/${job_id}?include_results=false`)).metadata.progress
              ?.processed ?? 0,
          {
            timeout: 20_000,
            interval: 20,
          },
        )
        .toBeGreaterThanOrEqual(20);
      w1.child.kill("SIGKILL");
      await w1.exited;
      const finishedBefore = (
        await querySql(where, "SELECT item_id FROM items WHERE job_id = ? AND status = 'succeeded'", [job_id])
      ).map((r) => r.item_id as string);
      expect(finishedBefore.length).toBeLessThan(total);
      await expect
        .poll(async () => (await getJson(`${api.url}/batch/jobs/${job_id}?include_results=false`)).status, {
          timeout: 30_000,
          interval: 100,
        })
        .toBe("completed");
      const job = await getJson(`${api.url}/batch/jobs/${job_id}`);
      expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
      const ids = job.result.results.map((r: { id: string }) => r.id);
      expect(new Set(ids).size).toBe(total);
      const workers = new Set(job.result.results.map((r: { worker_id: string }) => r.worker_id));
      expect(workers.size).toBe(2);
      expect([...workers].every((w) => /^[^:]+:\d+$/.test(String(w)))).toBe(true);
      const starts = startsByItem(log);
      for (const id of finishedBefore) expect(starts.get(id), id).toHaveLength(1);
      expect(
        job.result.results.filter((r: { worker_id: string }) => r.worker_id.endsWith(`:${w2.child.pid}`))
          .length,
      ).toBeGreaterThan(0);
    },
  );

  it.runIf(enabled)(
    "a job's slots are handed over: a node that writes results does not take back every slot it frees",
    async () => {
      const { log, api } = await cluster();
      // One chunk fills every slot of the job: whichever worker claims first holds them all, and the other
      // gets in only when slots it asked for are offered to it.
      const total = 400;
      const res = await fetch(`${api.url}/batch/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "test_sleep",
          items: Array.from({ length: total }, (_, i) => ({ id: `h${i}` })),
          options: { log_file: log, sleep_ms: 40 },
          parallel: 4,
          chunk_size: 4,
        }),
      });
      const { job_id } = (await res.json()) as { job_id: string };
      await expect
        .poll(async () => (await getJson(`${api.url}/batch/jobs/${job_id}?include_results=false`)).status, {
          timeout: 60_000,
          interval: 100,
        })
        .toBe("completed");
      const job = await getJson(`${api.url}/batch/jobs/${job_id}`);
      const byWorker = new Map<string, number>();
      for (const r of job.result.results as { worker_id: string }[])
        byWorker.set(r.worker_id, (byWorker.get(r.worker_id) ?? 0) + 1);
      expect(byWorker.size, JSON.stringify([...byWorker])).toBe(2);
      // Both took a fair part of the job, not a few items at its end.
      for (const n of byWorker.values())
        expect(n, JSON.stringify([...byWorker])).toBeGreaterThanOrEqual(total / 5);
    },
  );

  it.runIf(enabled)(
    "parallel holds across nodes, and a cancel sent to the API node stops items on the workers within 1 s",
    async () => {
      const { log, api, url } = await cluster();
      const res = await fetch(`${api.url}/batch/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "test_sleep",
          items: Array.from({ length: 40 }, (_, i) => ({ id: `c${i}` })),
          options: { log_file: log, sleep_ms: 20_000 },
          parallel: 3,
          chunk_size: 10,
        }),
      });
      const { job_id } = (await res.json()) as { job_id: string };
      await expect.poll(() => startsByItem(log).size, { timeout: 20_000, interval: 20 }).toBe(3);
      const where = { databasePath: "", databaseUrl: url };
      const [leased] = await querySql(
        where,
        "SELECT COUNT(*) AS n FROM items WHERE job_id = ? AND status = 'running'",
        [job_id],
      );
      expect(Number(leased?.n)).toBe(3);
      const t0 = performance.now();
      expect((await fetch(`${api.url}/batch/jobs/${job_id}`, { method: "DELETE" })).status).toBe(200);
      await expect
        .poll(
          async () =>
            Number(
              (
                await querySql(
                  where,
                  "SELECT COUNT(*) AS n FROM items WHERE job_id = ? AND status = 'running'",
                  [job_id],
                )
              )[0]?.n,
            ),
          { timeout: 5000, interval: 25 },
        )
        .toBe(0);
      expect(performance.now() - t0).toBeLessThan(1000);
      const job = await getJson(`${api.url}/batch/jobs/${job_id}`);
      expect(job.status).toBe("cancelled");
      // Every item is in the results: the three that ran and were stopped, and the rest that never started.
      expect(job.result.results).toHaveLength(job.result.summary.total);
      expect(new Set(job.result.results.map((r: { status: string }) => r.status))).toEqual(
        new Set(["cancelled"]),
      );
      expect(readFileSync(log, "utf8")).not.toContain("done");
    },
  );
});
