import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BACKEND, freshDatabaseUrl, postgresAvailable, querySql } from "./helpers/backend.js";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

/** Server args on the backend under test, and where its database is. */
function serverArgs(dir: string) {
  const databaseUrl = BACKEND === "postgres" ? freshDatabaseUrl() : null;
  const args = serveArgs(dir);
  if (databaseUrl) args.push("--database-url", databaseUrl);
  return { args, where: { databasePath: join(dir, "data", "batch_jobs.db"), databaseUrl } };
}

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

describe(`crash recovery (real server process, ${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());
  it.runIf(enabled)(
    "kill -9 mid-job, restart on the same data: the job finishes, one result per item, no finished item re-run",
    async () => {
      const dir = tempDir();
      const log = join(dir, "runs.log");
      writeFileSync(log, "");
      const { args, where } = serverArgs(dir);
      const first = await startServerProcess(args);
      const total = 120;
      const submit = await fetch(`${first.url}/batch/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          type: "test_sleep",
          items: Array.from({ length: total }, (_, i) => ({ id: `item-${i}` })),
          options: { log_file: log, sleep_ms: 60 }, // a window of ~1.3 s to catch it mid-job, even on a loaded machine
          parallel: 4,
          chunk_size: 8,
        }),
      });
      const { job_id } = (await submit.json()) as { job_id: string };
      // Wait until a good part has been committed while the process holds leases, then kill -9.
      const leasedAndProgressed = async () => {
        const [row] = await querySql(
          where,
          "SELECT SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS done, SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS leased FROM items WHERE job_id = ?",
          [job_id],
        );
        return Number(row?.done) >= 30 && Number(row?.leased) > 0;
      };
      await expect.poll(leasedAndProgressed, { timeout: 20_000, interval: 10 }).toBe(true);
      first.child.kill("SIGKILL");
      expect(await first.exited).toBe("SIGKILL");

      const finishedBefore = (
        await querySql(where, "SELECT item_id FROM items WHERE job_id = ? AND status = 'succeeded'", [job_id])
      ).map((r) => r.item_id as string);
      const [running] = await querySql(
        where,
        "SELECT COUNT(*) AS n FROM items WHERE job_id = ? AND status = 'running'",
        [job_id],
      );
      const runningBefore = Number(running?.n);
      expect(finishedBefore.length).toBeGreaterThanOrEqual(30);
      expect(finishedBefore.length).toBeLessThan(total);
      expect(runningBefore).toBeGreaterThan(0); // leases the dead process held

      const second = await startServerProcess(args);
      await expect
        .poll(
          async () => (await getJson(`${second.url}/batch/jobs/${job_id}?include_results=false`)).status,
          {
            timeout: 30_000,
            interval: 50,
          },
        )
        .toBe("completed");
      const job = await getJson(`${second.url}/batch/jobs/${job_id}`);
      expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
      const ids = job.result.results.map((r: { id: string }) => r.id);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);

      const starts = new Map<string, number>();
      for (const line of readFileSync(log, "utf8").split("\n")) {
        const m = /^start (\S+)/.exec(line);
        if (m?.[1]) starts.set(m[1], (starts.get(m[1]) ?? 0) + 1);
      }
      for (const id of finishedBefore) expect(starts.get(id), id).toBe(1);
      expect(starts.size).toBe(total);
      // The second process did the rest.
      expect(job.result.results.some((r: { pid: number }) => r.pid === second.child.pid)).toBe(true);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    },
  );

  it.runIf(enabled)("SIGTERM: stops claiming, lets running items finish, exits 0", async () => {
    const dir = tempDir();
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const { args, where } = serverArgs(dir);
    const server = await startServerProcess(args);
    const res = await fetch(`${server.url}/batch/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "test_sleep",
        items: Array.from({ length: 50 }, (_, i) => ({ id: `x${i}` })),
        options: { log_file: log, sleep_ms: 300 },
        parallel: 2,
        chunk_size: 10,
      }),
    });
    const { job_id } = (await res.json()) as { job_id: string };
    await expect
      .poll(
        () =>
          readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l.startsWith("start")).length,
      )
      .toBe(2);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines.filter((l) => l.startsWith("done"))).toHaveLength(
      lines.filter((l) => l.startsWith("start")).length,
    );
    const counts: Record<string, number> = Object.fromEntries(
      (
        await querySql(where, "SELECT status, COUNT(*) AS n FROM items WHERE job_id = ? GROUP BY status", [
          job_id,
        ])
      ).map((r) => [r.status, Number(r.n)]),
    );
    expect(counts.running).toBeUndefined();
    expect(counts.succeeded).toBe(lines.filter((l) => l.startsWith("done")).length);
    expect(counts.queued).toBe(50 - (counts.succeeded ?? 0));
  });

  it.runIf(enabled)(
    "Ctrl-C (SIGINT to the whole process group): running commands finish within the grace period",
    async () => {
      const dir = tempDir();
      const { args, where } = serverArgs(dir);
      const server = await startServerProcess(args, {}, undefined, true);
      const res = await fetch(`${server.url}/batch/mcp-operations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          operations: [1, 2].map((i) => ({ id: `c${i}`, type: "command", command: "sleep 1.5" })),
          parallel: 2,
        }),
      });
      const { job_id } = (await res.json()) as { job_id: string };
      await expect
        .poll(async () => (await getJson(`${server.url}/batch/jobs/${job_id}/items?status=running`)).total)
        .toBe(2);
      process.kill(-server.child.pid!, "SIGINT"); // what a terminal sends to the foreground group
      expect(await server.exited).toBe(0);
      const rows = await querySql(where, "SELECT status, error FROM items WHERE job_id = ? ORDER BY seq", [
        job_id,
      ]);
      expect(rows.map((r) => [r.status, r.error ?? null])).toEqual([
        ["succeeded", null],
        ["succeeded", null],
      ]);
    },
  );

  it.runIf(enabled).each(["SIGTERM", "SIGINT"] as const)(
    "%s to the whole process group mid-job, commands longer than the grace period: none fails, all complete after a restart",
    { timeout: 60_000 },
    async (signal) => {
      const dir = tempDir();
      const { args, where } = serverArgs(dir);
      args.push("--grace-seconds", "1");
      const server = await startServerProcess(args, {}, undefined, true);
      const total = 6;
      const res = await fetch(`${server.url}/batch/mcp-operations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          operations: Array.from({ length: total }, (_, i) => ({
            id: `c${i}`,
            type: "command",
            command: `sleep 4.${server.child.pid}`, // a command line no other test runs
          })),
          parallel: 3,
        }),
      });
      const { job_id } = (await res.json()) as { job_id: string };
      const running = () =>
        spawnSync("pgrep", ["-fc", `^sleep 4\\.${server.child.pid}$`], { encoding: "utf8" }).stdout.trim();
      await expect.poll(running, { timeout: 20_000, interval: 50 }).toBe("3");
      // What a service manager (KillMode=control-group) or a terminal sends: the signal reaches the server, its
      // command helper and the commands themselves.
      process.kill(-server.child.pid!, signal);
      expect(await server.exited).toBe(0);
      const statuses = async () =>
        (
          await querySql(where, "SELECT status, error FROM items WHERE job_id = ? ORDER BY seq", [job_id])
        ).map((r) => `${r.status as string}${r.error ? `: ${r.error as string}` : ""}`);
      expect(await statuses()).toEqual(Array(total).fill("queued")); // released, not failed
      const again = await startServerProcess(args);
      let job: any;
      await expect
        .poll(
          async () => {
            job = await getJson(`${again.url}/batch/jobs/${job_id}?include_results=false`);
            return job.status;
          },
          { timeout: 40_000, interval: 200 },
        )
        .toBe("completed");
      expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
      expect(await statuses()).toEqual(Array(total).fill("succeeded"));
    },
  );

  it.runIf(enabled && BACKEND === "sqlite")(
    "a second server on the same SQLite data dir refuses to start and names the first; after a kill -9 it may",
    async () => {
      const dir = tempDir();
      const { args } = serverArgs(dir);
      const first = await startServerProcess(args);
      const second = await startServerProcess(args).then(
        () => "started",
        (e: Error) => e.message,
      );
      expect(second).toMatch(
        new RegExp(`another ollama-coder server \\(pid ${first.child.pid}\\) is using the data directory`),
      );
      first.child.kill("SIGKILL");
      await first.exited;
      const third = await startServerProcess(args); // the lock of a process that is gone is taken over
      expect((await fetch(`${third.url}/health`)).status).toBe(200);
      third.child.kill("SIGTERM");
      expect(await third.exited).toBe(0);
    },
  );
});
