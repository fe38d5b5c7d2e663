import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

async function server(extraEnv: Record<string, string> = {}) {
  const dir = tempDir();
  const s = await startServerProcess(serveArgs(dir, "--sandbox", "off"), extraEnv);
  return { ...s, dir, root: join(dir, "project") };
}

/** A one-item job whose item runs for a minute (unless cancelled); its id. */
async function slowJob(url: string, itemId: string, log: string): Promise<string> {
  const res = await fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "test_sleep",
      items: [{ id: itemId }],
      options: { log_file: log, sleep_ms: 60_000 },
    }),
  });
  return ((await res.json()) as { job_id: string }).job_id;
}

describe("CLI client against a real server", () => {
  it("submit --wait: exit 0 when completed, 1 when failed; plain lines when not a terminal; --json", async () => {
    const s = await server();
    writeFileSync(join(s.root, "a.txt"), "hello");
    const ops = join(s.dir, "ops.json");
    writeFileSync(
      ops,
      JSON.stringify([
        { type: "read", path: "a.txt" },
        { type: "list", path: "." },
      ]),
    );
    const ok = await runCli(["submit", "mcp-operations", ops, "--wait", "--server", s.url]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/submitted batch_mcp-[0-9a-f]{12}/);
    expect(ok.stderr).toMatch(/batch_mcp-[0-9a-f]{12} completed 100\.0% \(2\/2, 0 failed/);
    expect(ok.stdout).toMatch(/completed — 2 ok, 0 failed/);

    const bad = join(s.dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ operations: [{ type: "read", path: "missing.txt" }], parallel: 2 }));
    const failed = await runCli(["submit", "mcp-operations", bad, "--wait", "--json", "--server", s.url]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: "failed", error: "1 of 1 items failed" });

    const fromStdin = await runCli(
      ["submit", "validation", "-", "--server", s.url],
      {},
      JSON.stringify({ targets: [{ path: "a.txt" }], check_command: "true" }),
    );
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout.trim()).toMatch(/^batch_validation-[0-9a-f]{12}$/);
  });

  it("submit --retries N --retry-failed: the job's retry policy, over what the body says", async () => {
    const s = await server();
    const retried = await runCli(
      ["submit", "validation", "-", "--retries", "2", "--retry-failed", "--json", "--server", s.url],
      {},
      JSON.stringify({ targets: [{ path: "a.txt" }], check_command: "true", retry: { delay_seconds: 5 } }),
    );
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout).metadata.retry).toMatchObject({
      max_attempts: 3,
      on: ["error", "failed"],
      delay_seconds: 5,
    });
  });

  it("submit --depends-on JOB... --on-dependency-failure; cancel --no-cascade; unknown ids exit 3 naming them", async () => {
    const s = await server();
    const log = join(s.dir, "sleep.log");
    const first = await slowJob(s.url, "a", log);
    const second = await slowJob(s.url, "b", log);
    const body = JSON.stringify({ targets: [{ path: "a.txt" }], check_command: "true" });
    const args = ["submit", "validation", "-", "--json", "--server", s.url, "--depends-on", first, second];
    const waiting = await runCli([...args, "--on-dependency-failure", "run"], {}, body);
    expect(waiting.code).toBe(0);
    const job = JSON.parse(waiting.stdout);
    expect(job).toMatchObject({
      status: "queued",
      depends_on: [first, second],
      waiting_for: [first, second],
    });
    const unknown = await runCli([...args, "batch_tests-000000000000"], {}, body);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/batch_tests-000000000000/);
    const cancel = await runCli(["cancel", first, "--no-cascade", "--server", s.url]);
    expect(cancel.code).toBe(0);
    const after = await runCli(["job", job.job_id, "--json", "--server", s.url]);
    expect(JSON.parse(after.stdout)).toMatchObject({ status: "queued", waiting_for: [second] });
    await runCli(["cancel", second, "--server", s.url]);
  });

  it("exit 2 when the job is cancelled while watching; cancel, job, jobs, stats, retry", async () => {
    const s = await server();
    const log = join(s.dir, "runs.log");
    writeFileSync(log, "");
    const job_id = await slowJob(s.url, "slow", log);
    const watching = runCli(["watch", job_id, "--server", s.url]);
    await expect
      .poll(async () => ((await (await fetch(`${s.url}/batch/jobs/${job_id}`)).json()) as any).status)
      .toBe("running");
    const cancel = await runCli(["cancel", job_id, "--server", s.url]);
    expect(cancel).toMatchObject({ code: 0 });
    expect(cancel.stdout.trim()).toBe(`cancelled ${job_id}`);
    const watched = await watching;
    expect(watched.code).toBe(2);
    expect(watched.stdout).toContain(`${job_id}: cancelled`);
    const again = await runCli(["cancel", job_id, "--server", s.url]);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/400: Job cannot be cancelled/);

    const job = await runCli(["job", job_id, "--json", "--server", s.url]);
    expect(JSON.parse(job.stdout)).toMatchObject({ job_id, status: "cancelled" });
    const jobs = await runCli(["jobs", "--status", "cancelled", "--server", s.url]);
    expect(jobs.stdout).toContain(job_id);
    expect(jobs.stdout).toMatch(/1 of 1 job\(s\)/);
    const stats = await runCli(["stats", "--json", "--server", s.url]);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 1, cancelled: 1 });
    const retry = await runCli(["retry", job_id, "--include", "failed", "--server", s.url]);
    expect(retry.code).toBe(3);
    expect(retry.stderr).toMatch(/409: Job has no failed items to retry/);
    // A cancelled job resumes: its cancelled item, here with an option changed.
    const resume = await runCli([
      ...["retry", job_id, "--item", "slow", "--option", "sleep_ms=1", "--option", `log_file=${log}`],
      ...["--wait", "--json", "--server", s.url],
    ]);
    expect(resume.code).toBe(0);
    expect(JSON.parse(resume.stdout)).toMatchObject({ status: "completed", metadata: { retry_of: job_id } });
    const missing = await runCli(["job", "nope", "--server", s.url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/404: Job not found/);
  });

  it("submit --priority, priority JOB N (queued, then ended: 409), jobs shows the priority; out of range exit 3", async () => {
    const s = await server();
    writeFileSync(join(s.root, "a.txt"), "hello");
    const ops = join(s.dir, "ops.json");
    writeFileSync(ops, JSON.stringify([{ type: "read", path: "a.txt" }]));
    const submitted = await runCli([
      "submit",
      "mcp-operations",
      ops,
      "--priority",
      "-7",
      "--json",
      "--server",
      s.url,
    ]);
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job.priority).toBe(-7);
    const high = await runCli(["submit", "mcp-operations", ops, "--priority", "101", "--server", s.url]);
    expect(high.code).toBe(3);
    expect(high.stderr).toMatch(/expected a whole number from -100 to 100/);
    await expect
      .poll(async () => ((await (await fetch(`${s.url}/batch/jobs/${job.job_id}`)).json()) as any).status)
      .toBe("completed");
    const jobs = await runCli(["jobs", "--server", s.url]);
    expect(jobs.stdout).toContain(`${job.job_id} completed priority -7 `);
    const ended = await runCli(["priority", job.job_id, "5", "--server", s.url]);
    expect(ended.code).toBe(3);
    expect(ended.stderr).toMatch(/409: Job priority cannot be changed once the job has ended/);

    const job_id = await slowJob(s.url, "a", join(s.dir, "runs.log"));
    const changed = await runCli(["priority", job_id, "42", "--server", s.url]);
    expect(changed).toMatchObject({ code: 0, stdout: `${job_id} priority 42\n` });
    expect(((await (await fetch(`${s.url}/batch/jobs/${job_id}`)).json()) as any).priority).toBe(42);
    await runCli(["cancel", job_id, "--server", s.url]);
  });

  it("retry --wait runs the failed items again; API keys via --api-key or OLLAMA_CODER_API_KEY", async () => {
    const s = await server({ OLLAMA_CODER_API_KEYS: "sekret" });
    const body = join(s.dir, "ops.json");
    writeFileSync(body, JSON.stringify({ operations: [{ type: "read", path: "later.txt" }] }));
    const noKey = await runCli(["submit", "mcp-operations", body, "--server", s.url]);
    expect(noKey.code).toBe(3);
    expect(noKey.stderr).toMatch(/401: Not authenticated/);
    const first = await runCli([
      "submit",
      "mcp-operations",
      body,
      "--wait",
      "--json",
      "--server",
      s.url,
      "--api-key",
      "sekret",
    ]);
    expect(first.code).toBe(1);
    const jobId = JSON.parse(first.stdout).job_id;
    writeFileSync(join(s.root, "later.txt"), "now it exists");
    const retried = await runCli(["retry", jobId, "--wait", "--server", s.url], {
      OLLAMA_CODER_API_KEY: "sekret",
    });
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/completed — 1 ok/);
  });

  it("bad input: unknown kind, unreadable JSON, unreachable server — exit 3 with a message", async () => {
    const dir = tempDir();
    const notJson = join(dir, "x.json");
    writeFileSync(notJson, "{nope");
    const kind = await runCli(["submit", "bananas", notJson]);
    expect(kind).toMatchObject({ code: 3 });
    expect(kind.stderr).toMatch(/unknown kind 'bananas'/);
    const parse = await runCli(["submit", "tests", notJson]);
    expect(parse.stderr).toMatch(/is not JSON/);
    const down = await runCli(["stats", "--server", "http://127.0.0.1:9"]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it("submit --cache: the second run's items say cached (and from which job); stats counts the hit", async () => {
    const s = await server();
    writeFileSync(join(s.root, "a.txt"), "hello");
    const ops = join(s.dir, "reads.json");
    writeFileSync(ops, JSON.stringify([{ id: "a", type: "read", path: "a.txt" }]));
    const submit = async () => {
      const r = await runCli([
        "submit",
        "mcp-operations",
        ops,
        "--cache",
        "--cache-ttl",
        "600",
        "--wait",
        "--server",
        s.url,
      ]);
      expect(r.code).toBe(0);
      return /submitted (batch_mcp-[0-9a-f]{12})/.exec(r.stderr)?.[1] ?? "(no job id)";
    };
    const first = await submit();
    const second = await submit();
    const shown = await runCli(["job", second, "--results", "--server", s.url]);
    expect(shown.stdout).toContain(`  a: success (cached from ${first})`);
    const items = await runCli(["items", second, "--server", s.url]);
    expect(items.stdout).toContain(`  a: success (cached from ${first})`);
    const stats = await runCli(["stats", "--server", s.url]);
    expect(stats.stdout).toContain("cache: 1 hits, 1 misses, 1 entries");
  }, 90_000);
});
