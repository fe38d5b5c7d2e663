import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requirePart } from "./helpers/requirements.js";
import { CLI, serveArgs, startServerProcess } from "./helpers/server-process.js";
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

  it("on a terminal: pretty single lines (pino-pretty), no JSON", async (ctx) => {
    const hasScript = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;
    if (
      !requirePart("script", hasScript, "apt-get install -y util-linux (script gives the server a terminal)")
    )
      return ctx.skip();
    const dir = tempDir();
    const command = [process.execPath, CLI, ...serveArgs(dir, "--sandbox", "off")]
      .map((a) => `'${a}'`)
      .join(" ");
    // script(1) runs the server on a pseudo-terminal, as a person's shell would.
    const child = spawn("script", ["-qfec", command, "/dev/null"], { detached: true, stdio: "pipe" });
    let out = "";
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (/listening on http/.test(out)) resolve();
      });
      child.on("exit", () => reject(new Error(`exited before listening:\n${out}`)));
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    try {
      await listening;
    } finally {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
    }
    await exited;
    const lines = out.split(/\r?\n/).filter((l) => l.trim() !== "");
    expect(lines.find((l) => /listening on http/.test(l))).toMatch(
      /^\[[\d:.]+\] .*INFO.*: .*ollama-coder listening on/,
    );
    expect(lines.filter((l) => l.trimStart().startsWith("{"))).toEqual([]);
  });
});
