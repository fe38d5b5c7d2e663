import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

interface LogLine {
  level: number;
  msg: string;
  job_id?: string;
  [field: string]: unknown;
}

async function post(url: string, body: unknown): Promise<{ job_id: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { job_id: string };
}

describe("server logs", () => {
  it("piped: only pino JSON lines, with each job's submit, start, end (counts, duration), cancel and retry at info", async () => {
    const dir = tempDir();
    const s = await startServerProcess(serveArgs(dir, "--sandbox", "off"));
    writeFileSync(join(dir, "project", "a.txt"), "hello");
    /** Every line the server printed, each one JSON (a plain line among them fails here). */
    const lines = (): LogLine[] =>
      s
        .output()
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => {
          try {
            return JSON.parse(l) as LogLine;
          } catch {
            throw new Error(`not a JSON log line: ${l}`);
          }
        });
    const about = (jobId: string, msg: string) => lines().find((l) => l.job_id === jobId && l.msg === msg);

    const { job_id } = await post(`${s.url}/batch/mcp-operations`, {
      operations: [
        { id: "ok", type: "read", path: "a.txt" },
        { id: "missing", type: "read", path: "missing.txt" },
      ],
    });
    await expect.poll(() => about(job_id, "job ended")).toBeTruthy();
    expect(about(job_id, "job submitted")).toMatchObject({ level: 30, job_type: "batch_mcp", items: 2 });
    expect(about(job_id, "job started")).toMatchObject({ level: 30, job_type: "batch_mcp" });
    const end = about(job_id, "job ended");
    expect(end).toMatchObject({ level: 30, status: "failed", total: 2, succeeded: 1, failed: 1, skipped: 0 });
    expect(typeof end?.duration_seconds).toBe("number");

    const retry = (await (
      await fetch(`${s.url}/batch/jobs/${job_id}/retry`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      })
    ).json()) as { job_id: string };
    await expect.poll(() => about(retry.job_id, "job retried")).toMatchObject({ retry_of: job_id, items: 1 });

    const sleeper = await post(`${s.url}/batch/jobs`, {
      type: "test_sleep",
      items: [{ id: "slow" }],
      options: { log_file: join(dir, "runs.log"), sleep_ms: 60_000 },
    });
    await expect.poll(() => about(sleeper.job_id, "job started")).toBeTruthy();
    expect((await fetch(`${s.url}/batch/jobs/${sleeper.job_id}`, { method: "DELETE" })).status).toBe(200);
    await expect.poll(() => about(sleeper.job_id, "job cancelled")).toMatchObject({ level: 30 });
    await expect.poll(() => about(sleeper.job_id, "job ended")).toMatchObject({ status: "cancelled" });

    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(lines().some((l) => /listening on http/.test(l.msg))).toBe(true);
    expect(lines().some((l) => /^SIGTERM: stopping/.test(l.msg))).toBe(true);
  });
});
