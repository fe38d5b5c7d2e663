import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { requirePart } from "./helpers/requirements.js";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { jobEnd, runsStarted, submitSleepJob } from "./helpers/sleep-jobs.js";
import { tempDir } from "./helpers/temp.js";

const mounted: string[] = [];
afterEach(() => {
  for (const dir of mounted.splice(0)) execFileSync("umount", ["-l", dir]);
});

const canMount = () =>
  requirePart("a small tmpfs of the test's own", process.getuid?.() === 0, "mounting a tmpfs needs root");

describe("a full disk under the data directory", () => {
  it.runIf(canMount())(
    "fails no item and loses no result: the workers wait until there is room again",
    { timeout: 120_000 },
    async () => {
      const dir = tempDir();
      const data = join(dir, "data");
      mkdirSync(data);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", data]);
      mounted.push(data);
      const log = join(dir, "runs.log");
      const s = await startServerProcess(serveArgs(dir));
      const total = 400;
      const job_id = await submitSleepJob(s.url, log, total, { sleepMs: 10, parallel: 4, chunkSize: 4 });
      const starts = () => runsStarted(log);
      await expect.poll(starts, { timeout: 30_000, interval: 20 }).toBeGreaterThan(40);
      // Fill the disk to the last byte, keep it full for a while, then make room again.
      const filler = join(data, "filler");
      try {
        execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
      } catch {
        /* dd stops at ENOSPC: that is the point */
      }
      const during = starts();
      await new Promise((r) => setTimeout(r, 20_000)); // as long as an operator takes to notice and make room
      const stalled = starts() - during; // a few items finish in memory; nothing new is claimed for long
      rmSync(filler);
      const job = await jobEnd(s.url, job_id, 60_000);
      expect(job.status).toBe("completed");
      expect(job.result.summary).toMatchObject({ total, successful: total, failed: 0 });
      expect(stalled).toBeLessThan(total);
      expect(s.output()).toMatch(/the store is unavailable \(.*(full|SQLITE_FULL)/i); // the fault did happen
      expect(s.child.exitCode).toBeNull();
    },
  );
});
