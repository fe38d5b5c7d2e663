import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAILURE_REASON_NAMES } from "../src/domain/failure.js";
import { type ChatBody, type Reply, toolResults, userTask } from "./fixtures/fake-ollama.js";
import { fakeOllama } from "./helpers/agent-app.js";
import { hasPython3, hasPythonRequests } from "./helpers/requirements.js";
import { runToEnd, startServerProcess } from "./helpers/server-process.js";
import { jobEnd } from "./helpers/sleep-jobs.js";
import { tempDir } from "./helpers/temp.js";

const EXAMPLES = join(import.meta.dirname, "..", "examples");
const WORD_COUNT = join(EXAMPLES, "plugins", "word-count.mjs");
const PYTHON_CLIENT = join(EXAMPLES, "python", "submit_and_wait.py");

/** The stock server with examples/plugins/word-count.mjs loaded, as examples/README.md starts it. */
async function wordCountServer() {
  const dir = tempDir();
  const root = join(dir, "project");
  const outside = join(dir, "outside");
  mkdirSync(join(root, "docs"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, "a.txt"), "one two  three\nfour\n");
  writeFileSync(join(root, "docs", "b.md"), "héllo wörld"); // no final newline: 0 lines, as wc -l says
  writeFileSync(join(outside, "secret.txt"), "not yours");
  symlinkSync(join(outside, "secret.txt"), join(root, "link-out.txt"));
  return { ...(await stockServer(dir, root, "--plugin", WORD_COUNT)), dir, root };
}

/** `serve` with its data under `dir` and its project root at `root`. */
function stockServer(dir: string, root: string, ...extra: string[]) {
  return startServerProcess([
    "serve",
    "--port",
    "0",
    "--data-dir",
    join(dir, "data"),
    "--project-root",
    root,
    ...extra,
  ]);
}

async function postJob(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("examples/plugins/word-count.mjs", () => {
  it("adds word_count to the stock server: counts files beneath the root, refuses the rest", async () => {
    const s = await wordCountServer();

    const bad = await postJob(s.url, { type: "word_count", items: [{ id: "no-path" }] });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      detail: [{ loc: ["body", "items", 0, "path"], type: "missing" }],
    });

    const res = await postJob(s.url, {
      type: "word_count",
      items: [
        { id: "a", path: "a.txt" },
        { id: "b", path: "docs/b.md" },
        { id: "missing", path: "nope.txt" },
        { id: "escape", path: "link-out.txt" },
        { id: "dir", path: "docs" },
      ],
    });
    expect(res.status).toBe(200);
    const { job_id } = (await res.json()) as { job_id: string };
    expect(job_id).toMatch(/^word_count-[0-9a-f]{12}$/);
    expect((await jobEnd(s.url, job_id, 20_000)).status).toBe("failed");

    const job = (await (await fetch(`${s.url}/batch/jobs/${job_id}`)).json()) as any;
    expect(job.error).toBe("3 of 5 items failed");
    expect(job.result.summary).toMatchObject({ total: 5, successful: 2, failed: 3 });
    const byId = new Map<string, any>(job.result.results.map((r: any) => [r.id, r]));
    expect(byId.get("a")).toEqual({
      id: "a",
      path: "a.txt",
      status: "success",
      words: 4,
      lines: 2,
      bytes: 20,
      worker_id: expect.any(String),
    });
    expect(byId.get("b")).toEqual({
      id: "b",
      path: "docs/b.md",
      status: "success",
      words: 2,
      lines: 0,
      bytes: 13,
      worker_id: expect.any(String),
    });
    // Each failure says why; the link's target is outside the root, so it is refused, never read.
    const errors = Object.fromEntries(["missing", "escape", "dir"].map((id) => [id, byId.get(id)]));
    expect(errors).toEqual({
      missing: expect.objectContaining({ status: "failed", error: "no such file or directory: 'nope.txt'" }),
      escape: expect.objectContaining({
        status: "failed",
        error: "SECURITY BLOCK: path 'link-out.txt' leads outside the project root through a symlink",
      }),
      dir: expect.objectContaining({ status: "failed", error: "'docs' is a directory; use list" }),
    });
    for (const entry of Object.values(errors)) expect(entry.words).toBeUndefined();
  });
});

describe.runIf(hasPython3())("examples/python/submit_and_wait.py", () => {
  it("submits, follows the progress, prints the summary and failed items, retries them; exit 0/1", async () => {
    const s = await wordCountServer();

    const good = join(s.dir, "good.json");
    writeFileSync(good, JSON.stringify([{ id: "a", path: "a.txt" }]));
    const ok = await runToEnd("python3", [PYTHON_CLIENT, "--type", "word_count", good, "--server", s.url]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^submitted word_count-[0-9a-f]{12} \(1 items\)$/m);
    expect(ok.stdout).toMatch(/: completed 1\/1 \(1 ok, 0 failed\)$/m);
    expect(ok.stdout).toMatch(/ completed: 1 items, 1 successful, 0 failed, 0 skipped, 0 cancelled in /);

    const mixed = join(s.dir, "mixed.json");
    writeFileSync(
      mixed,
      JSON.stringify({
        items: [
          { id: "a", path: "a.txt" },
          { id: "b", path: "docs/b.md" },
          { id: "gone", path: "gone.txt" },
        ],
      }),
    );
    const failed = await runToEnd("python3", [
      PYTHON_CLIENT,
      "--type",
      "word_count",
      mixed,
      "--retry",
      "--interval",
      "0.1",
      "--server",
      s.url,
    ]);
    expect(failed.stderr).toBe("");
    expect(failed.code).toBe(1); // the retry failed too: gone.txt is still missing
    const lines = failed.stdout.split("\n");
    expect(lines.filter((l) => / failed: 3 items, 2 successful, 1 failed, /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^ {2}failed gone: .+/.test(l))).toHaveLength(2); // the job, then its retry
    const retried = /^retrying 1 failed item\(s\) as (word_count-[0-9a-f]{12})$/m.exec(failed.stdout)?.[1];
    expect(retried).toBeDefined();
    expect(failed.stdout).toContain(`${retried} failed: 1 items, 0 successful, 1 failed, `);

    // On the server: the retry job holds exactly the failed item, resubmitted as the recovery recipe does.
    const job = (await (await fetch(`${s.url}/batch/jobs/${retried}`)).json()) as any;
    expect(job.status).toBe("failed");
    expect(job.result.results).toEqual([
      expect.objectContaining({ id: "gone", path: "gone.txt", status: "failed", error: expect.any(String) }),
    ]);

    const unreachable = await runToEnd("python3", [
      PYTHON_CLIENT,
      "--type",
      "word_count",
      good,
      "--server",
      "http://127.0.0.1:9",
    ]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^error: http:\/\/127\.0\.0\.1:9 unreachable: /);
  });
});

const GUIDE = join(EXAMPLES, "guide");

/** A project as the guide's Examples 2-4 expect it (they run in it), and a server on it with a fake Ollama. */
async function guideServer(project: Record<string, string> = {}) {
  const dir = tempDir();
  const root = join(dir, "project");
  for (const [path, content] of Object.entries(project)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  mkdirSync(root, { recursive: true });
  const ollama = await fakeOllama();
  // Coder: writes the file the task names, then ends its turn; reviewer: approves.
  ollama.script("qwen2.5-coder:7b", (b: ChatBody): Reply => {
    const file = /Create (\S+\.py)/.exec(userTask(b))?.[1] ?? "out.py";
    if (toolResults(b).length > 0) return { content: `Created ${file}.` };
    return {
      toolCalls: [{ name: "write_file", arguments: { path: file, content: "def f():\n    return 1\n" } }],
    };
  });
  ollama.script("llama3.2", () => ({ toolCalls: [{ name: "approve", arguments: { summary: "ok" } }] }));
  return { ...(await stockServer(dir, root, "--ollama-url", ollama.url)), dir, root };
}

interface LoggedRequest {
  method: string;
  url: string;
  json: any;
  status: number;
}

/** Runs one of the guide's scripts, unchanged, in `cwd`, pointed at the server by examples/guide/shim. */
async function runGuide(script: string, url: string, o: { cwd: string; job?: string }) {
  const log = join(o.cwd, "..", `${script}.${Math.random().toString(16).slice(2)}.log`);
  const out = await runToEnd("python3", [join(GUIDE, script)], {
    cwd: o.cwd,
    env: {
      ...process.env,
      PYTHONPATH: join(GUIDE, "shim"),
      OC_GUIDE_SERVER: url,
      OC_GUIDE_JOB: o.job ?? "",
      OC_GUIDE_LOG: log,
    },
  });
  const requests: LoggedRequest[] = existsSync(log)
    ? readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  return { ...out, requests };
}

async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

/** The one job of a type on the server (each script submits one). */
async function onlyJob(url: string, type: string): Promise<string> {
  const { jobs } = await getJson(`${url}/batch/jobs?job_type=${type}`);
  expect(jobs).toHaveLength(1);
  return jobs[0].job_id;
}

/**
 * The guide's recovery recipe, unchanged, on a job: it must resubmit exactly the entries counted as failed
 * (every one of them, whatever made it fail), or nothing when the job did not fail.
 */
async function recipeSelectsEveryFailedItem(url: string, cwd: string, jobId: string) {
  const job = await getJson(`${url}/batch/jobs/${jobId}`);
  const failed = (job.result.results as any[]).filter((r) => r.status === "failed");
  expect(failed).toHaveLength(job.result.summary.failed);
  for (const r of failed) expect(FAILURE_REASON_NAMES, `${r.id}: failure`).toContain(r.failure);
  const recipe = await runGuide("recovery.py", url, { cwd, job: jobId });
  expect(recipe.stderr).toBe("");
  expect(recipe.code).toBe(0);
  const posts = recipe.requests.filter((r) => r.method.toUpperCase() === "POST");
  if (job.status !== "failed") {
    expect(posts).toEqual([]);
    return { job, resubmitted: [] as any[] };
  }
  expect(posts.map((p) => p.url)).toEqual([`${url}/batch/agent-tasks`]);
  const resubmitted = posts[0]!.json.tasks as any[];
  expect(resubmitted.map((r) => r.id)).toEqual(failed.map((r) => r.id));
  return { job, resubmitted };
}

const hasRuff = (): boolean => spawnSync("ruff", ["--version"], { stdio: "ignore" }).status === 0;

describe.runIf(hasPythonRequests())(
  "the batch-processing guide's examples, unchanged (examples/guide)",
  () => {
    it("Examples 2, 3 and 4 run; the recovery recipe selects every failed item: program missing, items timed out", async () => {
      const project: Record<string, string> = {
        "src/app.py": "print('app')\n",
        "src/pkg/__init__.py": "",
        "src/pkg/util.py": "X = 1\n",
        "tests/test_ok.py": "def test_ok():\n    assert 1 + 1 == 2\n",
        "tests/test_bad.py": "def test_bad():\n    assert 1 + 1 == 3\n",
      };
      for (let i = 0; i < 10; i++) project[`src/module_${i}.py`] = `N = ${i}\n`;
      const s = await guideServer(project);
      const sources = Object.keys(project).filter((p) => p.startsWith("src/"));

      // Example 2: "ruff check" on every file under src/ (ruff is not installed here: every item fails).
      const ex2 = await runGuide("example2_validate.py", s.url, { cwd: s.root });
      expect(ex2.stderr).toBe("");
      expect(ex2.stdout).toBe(`Validating ${sources.length} files...\n`);
      const validation = await onlyJob(s.url, "batch_validation");
      await jobEnd(s.url, validation, 60_000);
      const v = await recipeSelectsEveryFailedItem(s.url, s.root, validation);
      expect(v.job.result.results).toHaveLength(sources.length);
      if (!hasRuff()) {
        expect(v.job.status).toBe("failed");
        expect(v.resubmitted).toHaveLength(sources.length);
        expect(new Set(v.resubmitted.map((r) => r.failure))).toEqual(new Set(["not_found"]));
        // Found missing before the first item ran: every item fails with the job's one error, which says the fix.
        expect(v.resubmitted[0]).toMatchObject({ status: "failed" });
        expect(v.resubmitted[0]?.error).toMatch(
          /^check_command program 'ruff' not found .*no item was run\. Fix: install ruff/,
        );
      }

      // A job whose items time out (a check that never ends): failed, and the recipe takes them all.
      const slow = await fetch(`${s.url}/batch/validation`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          targets: [{ path: "src/app.py" }, { path: "src/pkg/util.py" }],
          check_command: "tail -f",
          timeout_seconds: 1,
        }),
      });
      const slowId = ((await slow.json()) as { job_id: string }).job_id;
      expect((await jobEnd(s.url, slowId, 60_000)).status).toBe("failed");
      const timedOut = await recipeSelectsEveryFailedItem(s.url, s.root, slowId);
      expect(timedOut.resubmitted.map((r) => [r.id, r.status, r.failure, r.error])).toEqual([
        ["op-0", "failed", "timeout", "timed out after 1 s"],
        ["op-1", "failed", "timeout", "timed out after 1 s"],
      ]);

      // Example 3: "pytest -v" on each tests/test_*.py; a test module passes or fails, the recipe takes the failed.
      const ex3 = await runGuide("example3_tests.py", s.url, { cwd: s.root });
      expect(ex3.stderr).toBe("");
      expect(ex3.stdout).toBe("Running 2 test modules...\n");
      const tests = await onlyJob(s.url, "batch_tests");
      await jobEnd(s.url, tests, 120_000);
      const t = await recipeSelectsEveryFailedItem(s.url, s.root, tests);
      for (const r of t.job.result.results) expect(["passed", "failed"]).toContain(r.status);
      expect(t.job.result.results.find((r: any) => r.id === "test_bad").status).toBe("failed");

      // Example 4: reads and writes through MCP; every operation succeeds.
      const ex4 = await runGuide("example4_bulk_files.py", s.url, { cwd: s.root });
      expect(ex4.stderr).toBe("");
      expect(ex4.stdout).toBe("Processing 20 operations...\n");
      const mcp = await onlyJob(s.url, "batch_mcp");
      expect((await jobEnd(s.url, mcp, 60_000)).status).toBe("completed");
      const done = await getJson(`${s.url}/batch/jobs/${mcp}`);
      expect(new Set(done.result.results.map((r: any) => r.status))).toEqual(new Set(["success"]));
      expect(readFileSync(join(s.root, "output", "result_7.txt"), "utf8")).toBe("Result 7");
      await recipeSelectsEveryFailedItem(s.url, s.root, mcp);
    }, 300_000);

    it("Example 1, cancelled partway: results list all 1000 tasks (the rest cancelled), retry resumes them", async () => {
      const s = await guideServer();
      const ex1 = runGuide("example1_batch_tasks.py", s.url, { cwd: s.root });
      let jobId = "";
      await expect
        .poll(
          async () => {
            const { jobs } = await getJson(`${s.url}/batch/jobs?job_type=batch_agent_tasks`);
            jobId = jobs[0]?.job_id ?? "";
            return jobs[0]?.metadata?.progress?.processed ?? 0;
          },
          { timeout: 120_000, interval: 200 },
        )
        .toBeGreaterThanOrEqual(3);
      expect((await fetch(`${s.url}/batch/jobs/${jobId}`, { method: "DELETE" })).status).toBe(200);

      // The example's loop sees the cancel and prints the summary.
      const out = await ex1;
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/^Progress: \d+\.\d%$/m);
      // Every item gets its entry once the runner has settled the ones it held.
      await expect
        .poll(async () => (await getJson(`${s.url}/batch/jobs/${jobId}`)).result.results.length, {
          timeout: 30_000,
        })
        .toBe(1000);
      const job = await getJson(`${s.url}/batch/jobs/${jobId}`);
      const { summary, results } = job.result;
      expect(job.status).toBe("cancelled");
      expect(out.stdout).toMatch(/^Completed: \d+ tasks\nFailed: \d+ tasks\nTime: \d+\.\ds$/m);
      expect(results.map((r: any) => r.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `task-${i}`));
      const count = (status: string) => results.filter((r: any) => r.status === status).length;
      expect([count("completed"), count("failed"), count("cancelled")]).toEqual([
        summary.successful,
        summary.failed,
        summary.cancelled,
      ]);
      expect(summary.cancelled).toBeGreaterThan(900);
      expect(results[999]).toEqual({
        id: "task-999",
        description: "Create function_999.py with a function that returns 999",
        status: "cancelled",
        error: "Cancelled by user",
      });
      // current_item is a task that ran (it has a worker).
      const current = results.find((r: any) => r.id === job.metadata.progress.current_item);
      expect(current?.worker_id).toEqual(expect.any(String));

      // The recipe takes failed jobs only; the built-in retry resumes a cancelled one: failed plus cancelled.
      await recipeSelectsEveryFailedItem(s.url, s.root, jobId);
      const retry = await fetch(`${s.url}/batch/jobs/${jobId}/retry`, {
        method: "POST",
        headers: { "content-type": "application/json" },
      });
      expect(retry.status).toBe(200);
      const resumed = (await retry.json()) as any;
      expect(resumed.metadata).toMatchObject({
        total_tasks: summary.failed + summary.cancelled,
        retry_of: jobId,
      });
      expect((await fetch(`${s.url}/batch/jobs/${resumed.job_id}`, { method: "DELETE" })).status).toBe(200);
    }, 300_000);
  },
);
