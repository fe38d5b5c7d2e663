import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requirePart } from "./helpers/requirements.js";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { jobEnd, runsStarted, submitSleepJob } from "./helpers/sleep-jobs.js";
import { tempDir } from "./helpers/temp.js";

const betterSqlite = createRequire(import.meta.url).resolve("better-sqlite3");

const submitEcho = (url: string) =>
  fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "test_echo", items: [{ id: "a" }] }),
  });

/**
 * Another process (a `sqlite3` shell in a transaction, a backup tool) takes the database's write lock and
 * keeps it until told "release" on its stdin.
 */
async function holdWriteLock(databasePath: string) {
  const holder = spawn(
    process.execPath,
    [
      "-e",
      `const db = new (require(${JSON.stringify(betterSqlite)}))(${JSON.stringify(databasePath)});
       db.pragma("busy_timeout = 10000");
       db.exec("BEGIN EXCLUSIVE");
       console.log("locked");
       process.stdin.once("data", () => { db.exec("COMMIT"); db.close(); process.exit(0); });`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  await once(holder.stdout, "data");
  return {
    release: async () => {
      holder.stdin.write("release\n");
      await once(holder, "exit");
    },
  };
}

/** Whether files in the temp dir can be made immutable here (root, and a file system with the attribute). */
function canChattr(): boolean {
  const file = join(tempDir(), "probe");
  execFileSync("touch", [file]);
  const ok = spawnSync("chattr", ["+i", file]).status === 0;
  if (ok) execFileSync("chattr", ["-i", file]);
  return requirePart("chattr +i", ok, "making a file immutable needs root and a file system such as ext4");
}

const chattr = (flag: "+i" | "-i", files: string[]) => execFileSync("chattr", [flag, ...files]);

describe("the data directory under a running server (SQLite, real processes)", () => {
  it("deleted: the server says so within seconds, /ready and submits answer 503, it stays alive", async () => {
    const dir = tempDir();
    const s = await startServerProcess(serveArgs(dir));
    expect((await submitEcho(s.url)).status).toBe(200);
    rmSync(join(dir, "data"), { recursive: true, force: true });
    await expect
      .poll(s.output, { timeout: 10_000, interval: 100 })
      .toMatch(/the store cannot be written: the database file .*batch_jobs\.db is gone/);
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(503);
    const submit = await submitEcho(s.url);
    expect(submit.status).toBe(503); // not accepted into a file that no longer exists
    expect(submit.headers.get("retry-after")).toBe("5");
    expect(((await submit.json()) as { detail: string }).detail).toMatch(/batch_jobs\.db is gone/);
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(s.child.exitCode).toBeNull();
  });

  it("read by another process all along (sqlite3, as the README shows) across the watch's checks: the job completes, the server lives", {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir();
    const log = join(dir, "runs.log");
    const s = await startServerProcess(serveArgs(dir));
    const job_id = await submitSleepJob(s.url, log, 300, { sleepMs: 60, parallel: 4, chunkSize: 8 });
    const Database = createRequire(import.meta.url)("better-sqlite3");
    // Readers that open and close the database over and over; before, the watch's check of the files closed a
    // descriptor of the shared-memory file, which dropped SQLite's locks on it: a reader then reset it and the
    // server died of SIGBUS.
    let reads = 0;
    const read = () => {
      const db = new Database(join(dir, "data", "batch_jobs.db"), { readonly: true });
      db.prepare("SELECT COUNT(*) FROM items").get();
      db.close();
      reads++;
    };
    const job = await new Promise<any>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          read();
        } catch (e) {
          clearInterval(timer);
          reject(e);
        }
      }, 5);
      jobEnd(s.url, job_id, 45_000).then(
        (j) => {
          clearInterval(timer);
          resolve(j);
        },
        (e) => {
          clearInterval(timer);
          reject(e);
        },
      );
    });
    expect(job.status).toBe("completed");
    expect(reads).toBeGreaterThan(100);
    expect(s.child.exitCode).toBeNull();
    expect(s.child.signalCode).toBeNull();
  });

  it("deleted mid-job: no claimed item starts once it is seen (its outcome could not be recorded)", async () => {
    const dir = tempDir();
    const log = join(dir, "runs.log");
    const s = await startServerProcess(serveArgs(dir));
    // Big chunks: the runner holds many claimed items it has not started yet.
    await submitSleepJob(s.url, log, 200, { sleepMs: 100, parallel: 2, chunkSize: 100 });
    await expect.poll(() => runsStarted(log), { timeout: 20_000, interval: 20 }).toBeGreaterThan(4);
    rmSync(join(dir, "data"), { recursive: true, force: true });
    await expect
      .poll(s.output, { timeout: 10_000, interval: 50 })
      .toMatch(/no item starts while the store is unavailable/);
    const seen = runsStarted(log);
    // Two more of the watch's rounds: before, the runner went on starting every claimed item.
    await new Promise((r) => setTimeout(r, 4000));
    expect(runsStarted(log)).toBe(seen);
    expect(s.child.exitCode).toBeNull();
  });

  it("write-locked by another process for long: routes that need no write keep answering, the job waits and completes", {
    timeout: 90_000,
  }, async () => {
    const dir = tempDir();
    const log = join(dir, "runs.log");
    const s = await startServerProcess(serveArgs(dir));
    const total = 200;
    const job_id = await submitSleepJob(s.url, log, total, { sleepMs: 10, parallel: 4, chunkSize: 4 });
    await expect.poll(() => runsStarted(log), { timeout: 30_000, interval: 20 }).toBeGreaterThan(20);
    const lock = await holdWriteLock(join(dir, "data", "batch_jobs.db"));
    // Before, each write of the workers held the thread for the whole 5 s busy timeout, and every route
    // (even /health) waited behind it.
    const slowest = { ms: 0, path: "" };
    const timed = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(`${s.url}${path}`);
      const ms = performance.now() - t0;
      if (ms > slowest.ms) Object.assign(slowest, { ms, path });
      return res;
    };
    const submitted = submitEcho(s.url); // waits for the lock, then gives up with a 503
    for (let i = 0; i < 20; i++) {
      expect((await timed("/health")).status).toBe(200);
      expect((await timed(`/batch/jobs/${job_id}?include_results=false`)).status).toBe(200); // a read
      await new Promise((r) => setTimeout(r, 200));
    }
    const refused = await submitted;
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(slowest.ms, `${slowest.path} took ${Math.round(slowest.ms)} ms`).toBeLessThan(1000);
    await lock.release();
    const job = await jobEnd(s.url, job_id, 60_000);
    expect(job.status).toBe("completed");
    expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
    expect(runsStarted(log)).toBe(total); // nothing ran twice
  });

  it.runIf(canChattr())(
    "its files made unwritable (chattr +i): seen within seconds, 503s meanwhile, work resumes once writable; a restart meanwhile refuses and says why",
    { timeout: 60_000 },
    async () => {
      const dir = tempDir();
      const db = join(dir, "data", "batch_jobs.db");
      const files = [`${db}-wal`, `${db}-shm`];
      const s = await startServerProcess(serveArgs(dir));
      expect((await submitEcho(s.url)).status).toBe(200);
      chattr("+i", files);
      try {
        await expect
          .poll(s.output, { timeout: 10_000, interval: 100 })
          .toMatch(/the store cannot be written: .*batch_jobs\.db-wal cannot be written \(EPERM\)/);
        expect((await fetch(`${s.url}/ready`)).status).toBe(503);
        expect((await submitEcho(s.url)).status).toBe(503);
        const second = await startServerProcess(serveArgs(dir), {}, undefined).then(
          () => "started",
          (e: Error) => e.message,
        );
        expect(second).toMatch(/another ollama-coder server/); // the running one still owns the directory
      } finally {
        chattr("-i", files);
      }
      await expect
        .poll(s.output, { timeout: 10_000, interval: 100 })
        .toMatch(/the store can be written again/);
      expect((await fetch(`${s.url}/ready`)).status).toBe(200);
      expect((await submitEcho(s.url)).status).toBe(200);
      s.child.kill("SIGKILL"); // leaves its -wal and -shm behind
      await s.exited;
      chattr("+i", files);
      try {
        const restarted = await startServerProcess(serveArgs(dir)).then(
          () => "started",
          (e: Error) => e.message,
        );
        expect(restarted).toMatch(
          /the store cannot be written: .*batch_jobs\.db-wal cannot be written \(EPERM\)/,
        );
      } finally {
        chattr("-i", files);
      }
    },
  );
});
