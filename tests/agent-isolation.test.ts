import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ChatBody, Reply } from "./fixtures/fake-ollama.js";
import { toolResults, userTask } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { hasBuiltinJail } from "./helpers/requirements.js";
import { runCli, serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";
import { waitForJobEnd } from "./helpers/test-app.js";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd,
    encoding: "utf8",
  }).trim();

/** A check that runs every test_*.py of the directory (pytest's job, without needing pytest). */
const CHECK = `import glob, importlib.util, sys
bad = 0
for f in sorted(glob.glob("test_*.py")):
    spec = importlib.util.spec_from_file_location(f[:-3], f)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    for name in dir(m):
        if name.startswith("test_"):
            try:
                getattr(m, name)()
            except Exception as e:
                print(f, name, "FAILED", e)
                bad += 1
sys.exit(1 if bad else 0)
`;

/** A project with calc.py, its test and the check, committed (git) or not. */
function makeProject(root: string, withGit: boolean): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "calc.py"), "def add(a, b):\n    return a + b\n");
  writeFileSync(
    join(root, "test_calc.py"),
    "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
  );
  writeFileSync(join(root, "check.py"), CHECK);
  if (!withGit) return;
  git(root, "init", "-q", "-b", "main");
  git(root, "add", "-A");
  git(root, "commit", "-qm", "start");
}

/** Each task's coder writes the files its description names ("write a.py=…; b.py=…"), then ends its turn. */
function fileWriter(delayFor: (task: string) => number = () => 0) {
  return (b: ChatBody): Reply => {
    const task = userTask(b);
    if (toolResults(b).length > 0) return { content: "Done." };
    const calls = task
      .replace(/^write /, "")
      .split("; ")
      .map((spec) => {
        const at = spec.indexOf("=");
        const content = spec.slice(at + 1).replace(/\\n/g, "\n");
        return { name: "write_file", arguments: { path: spec.slice(0, at), content } };
      });
    return { toolCalls: calls, delayMs: delayFor(task) };
  };
}

const BROKEN = "write test_broken.py=def test_no():\\n    assert False\\n";
const GOOD =
  "write mul.py=def mul(a, b):\\n    return a * b\\n; test_mul.py=from mul import mul\\n\\ndef test_mul():\\n    assert mul(2, 3) == 6\\n";

/**
 * Two tasks at once: "broken" writes a failing test at once, "good" writes a module and its test a moment
 * later, so that its check runs while the broken test exists (in a shared tree).
 */
async function brokenAndGood(withGit: boolean, options: Record<string, unknown> = {}) {
  const ollama = await fakeOllama();
  ollama.script(
    "qwen2.5-coder:7b",
    fileWriter((task) => (task === GOOD ? 300 : 0)),
  );
  const dir = tempDir();
  makeProject(join(dir, "project"), withGit);
  const { t, root } = await agentApp(ollama.url, {}, dir);
  const res = await t.request("POST", "/batch/agent-tasks", {
    tasks: [
      { id: "broken", description: BROKEN },
      { id: "good", description: GOOD },
    ],
    parallel: 2,
    reviewer_model: null,
    check_command: "python3 check.py",
    max_loops: 2,
    ...options,
  });
  return { t, root, dir, res, done: await waitForJobEnd(t, res.body.job_id) };
}

describe.each([
  ["worktree", true],
  ["copy", false],
] as const)("agent tasks isolated (%s)", (isolation, withGit) => {
  it("a neighbour's broken test does not fail a task's check; the good task merges, the broken one stays on its branch", async () => {
    const { t, root, dir, res, done } = await brokenAndGood(withGit);
    const byId = Object.fromEntries(done.result.results.map((r: any) => [r.id, r]));
    expect(byId.good).toMatchObject({
      status: "completed",
      isolation,
      branch: `ollama-coder/${res.body.job_id}/good`,
      files_changed: ["mul.py", "test_mul.py"],
      apply: { status: "merged" },
    });
    expect(byId.good.base_commit).toMatch(/^[0-9a-f]{40}$/);
    expect(byId.good.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(byId.good.diff).toContain("+def mul(a, b):");
    expect(byId.broken).toMatchObject({ status: "failed", apply: { status: "skipped" } });
    expect(readFileSync(join(root, "mul.py"), "utf8")).toContain("a * b");
    expect(existsSync(join(root, "test_broken.py"))).toBe(false); // the failed task's file stays on its branch
    const repo = withGit ? root : join(dir, "data", "workspaces", res.body.job_id, "snapshot", "repo.git");
    expect(git(repo, "show", `${byId.broken.branch}:test_broken.py`)).toContain("assert False");
    const job = (await t.request("GET", `/batch/jobs/${res.body.job_id}?include_results=false`)).body;
    expect(job.metadata).toMatchObject({ isolation, base_commit: byId.good.base_commit });
    // Worktrees and copies are gone once their task ended.
    expect(existsSync(join(dir, "data", "workspaces", res.body.job_id, "tasks"))).toBe(false);
  });

  it("two tasks changing the same line: one merges, the other ends in conflict, its branch intact, no markers", async () => {
    const ollama = await fakeOllama();
    ollama.script(
      "qwen2.5-coder:7b",
      fileWriter((t) => (t.includes("b + a") ? 0 : 200)),
    );
    const dir = tempDir();
    makeProject(join(dir, "project"), withGit);
    const { t, root } = await agentApp(ollama.url, {}, dir);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [
        { id: "swap", description: "write calc.py=def add(a, b):\\n    return b + a\\n" },
        { id: "sum", description: "write calc.py=def add(a, b):\\n    return sum((a, b))\\n" },
      ],
      parallel: 2,
      reviewer_model: null,
      check_command: "python3 check.py",
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    const byId = Object.fromEntries(done.result.results.map((r: any) => [r.id, r]));
    expect(byId.swap).toMatchObject({ status: "completed", apply: { status: "merged" } });
    expect(byId.sum).toMatchObject({ status: "failed", apply: { status: "conflict", files: ["calc.py"] } });
    expect(byId.sum.error).toMatch(
      /^merge conflict in calc\.py: nothing was merged; .*kept on branch ollama-coder\//,
    );
    const calc = readFileSync(join(root, "calc.py"), "utf8");
    expect(calc).toBe("def add(a, b):\n    return b + a\n");
    expect(calc).not.toMatch(/<<<<<<<|>>>>>>>/);
    if (withGit) expect(git(root, "show", `${byId.sum.branch}:calc.py`)).toContain("sum((a, b))");
  });
});

describe("agent tasks: shared, and 20 tasks of a batch", () => {
  it.each([
    ["worktree", true],
    ["copy", false],
    ["shared", true],
  ] as const)(
    "a task's own workspace that is not in the project fails the task (%s): no folder is made for a typo",
    async (mode, withGit) => {
      const ollama = await fakeOllama();
      ollama.script("qwen2.5-coder:7b", fileWriter());
      const dir = tempDir();
      makeProject(join(dir, "project"), withGit);
      const { t, root } = await agentApp(ollama.url, {}, dir);
      mkdirSync(join(root, "services", "stats"), { recursive: true });
      if (withGit) git(root, "commit", "-q", "--allow-empty", "-m", "folders");
      const res = await t.request("POST", "/batch/agent-tasks", {
        tasks: [{ id: "typo", description: "write x.py=x = 1\\n", workspace: "servces/stats" }],
        reviewer_model: null,
        check_command: "true",
        isolation: mode,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const [r] = (await waitForJobEnd(t, res.body.job_id)).result.results;
      expect(r).toMatchObject({ status: "failed", failure: "not_found" });
      expect(r.error).toMatch(/workspace 'servces\/stats' is not a directory in the project/);
      expect(existsSync(join(root, "servces"))).toBe(false);
    },
  );

  it("isolation 'shared' keeps the old behaviour: tasks see each other's files", async () => {
    const { root, done } = await brokenAndGood(true, { isolation: "shared" });
    const good = done.result.results.find((r: any) => r.id === "good");
    expect(good.status).toBe("failed"); // its check ran over the neighbour's broken test
    expect(good.branch).toBeUndefined();
    expect(existsSync(join(root, "test_broken.py"))).toBe(true);
  });

  it("20 tasks at parallel 3 in a git project: every file lands in the project, one branch per task", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", fileWriter());
    const dir = tempDir();
    makeProject(join(dir, "project"), true);
    const { t, root } = await agentApp(ollama.url, {}, dir);
    const tasks = Array.from({ length: 20 }, (_, i) => ({
      id: `task${i}`,
      description: `write mod${i}.py=VALUE = ${i}\\n`,
    }));
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks,
      parallel: 3,
      reviewer_model: null,
      check_command: "python3 check.py",
    });
    const done = await waitForJobEnd(t, res.body.job_id, 60_000);
    expect(done.result.summary).toMatchObject({ total: 20, successful: 20 });
    for (let i = 0; i < 20; i++)
      expect(readFileSync(join(root, `mod${i}.py`), "utf8")).toBe(`VALUE = ${i}\n`);
    const branches = git(root, "branch", "--list", `ollama-coder/${res.body.job_id}/*`).split("\n");
    expect(branches).toHaveLength(20);
    expect(git(root, "status", "--porcelain")).toBe("");
  });
});

describe("agent tasks: a jailed command cannot reach outside its own workspace", () => {
  it.runIf(hasBuiltinJail())(
    "writes to the project or another task's workspace are refused or land nowhere",
    async () => {
      const ollama = await fakeOllama();
      const dir = tempDir();
      const root = join(dir, "project");
      makeProject(root, true);
      const victims = [join(root, "evil.txt"), join(dir, "data", "workspaces", "evil.txt")];
      const script = `import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p, "w").write("x")\n        print("WROTE", p)\n    except OSError as e:\n        print("REFUSED", p, e.errno)\n`;
      ollama.script("qwen2.5-coder:7b", (b) =>
        toolResults(b).length === 0
          ? {
              toolCalls: [
                { name: "write_file", arguments: { path: "escape.py", content: script } },
                { name: "run_command", arguments: { command: `python3 escape.py ${victims.join(" ")}` } },
              ],
            }
          : { content: "Done." },
      );
      const { t } = await agentApp(ollama.url, { sandbox: "builtin" }, dir);
      const res = await t.request("POST", "/batch/agent-tasks", {
        tasks: [{ id: "escape", description: "try" }],
        reviewer_model: null,
        check_command: "true",
      });
      const done = await waitForJobEnd(t, res.body.job_id);
      const transcript = JSON.stringify(done.result.results[0].transcript);
      expect(transcript).toMatch(/REFUSED \//);
      expect(transcript).not.toMatch(/WROTE \//);
      for (const v of victims) expect(existsSync(v), v).toBe(false);
    },
  );
});

describe("agent tasks: a crash mid-task", () => {
  it("kill -9 while a task runs: the restart leaves no worktree behind and the task re-runs cleanly", async () => {
    const ollama = await fakeOllama();
    let calls = 0;
    ollama.script("qwen2.5-coder:7b", (b) => {
      if (toolResults(b).length > 0) return { content: "Done." };
      calls++;
      // The first run writes half its work, then its model takes a long time: the process is killed meanwhile.
      return calls === 1
        ? { toolCalls: [{ name: "write_file", arguments: { path: "half.py", content: "x = 1\n" } }] }
        : { toolCalls: [{ name: "write_file", arguments: { path: "whole.py", content: "x = 2\n" } }] };
    });
    const dir = tempDir();
    const root = join(dir, "project");
    makeProject(root, true);
    const checkMarker = join(dir, "check-started");
    // The check of the first run blocks until the test has killed the server.
    writeFileSync(
      join(root, "slow_check.py"),
      `import os, sys, time\nif not os.path.exists(${JSON.stringify(checkMarker)}):\n    open(${JSON.stringify(checkMarker)}, "w").close()\n    time.sleep(60)\n`,
    );
    git(root, "add", "-A");
    git(root, "commit", "-qm", "slow check");
    const args = serveArgs(dir, "--sandbox", "off", "--ollama-url", ollama.url, "--project-root", root);
    const first = await startServerProcess(args);
    const submit = await fetch(`${first.url}/batch/agent-tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        tasks: [{ id: "t1", description: "do it" }],
        reviewer_model: null,
        check_command: "python3 slow_check.py",
      }),
    });
    const { job_id } = (await submit.json()) as { job_id: string };
    await expect.poll(() => existsSync(checkMarker), { timeout: 20_000 }).toBe(true);
    const tasksDir = join(dir, "data", "workspaces", job_id, "tasks");
    expect(readdirSync(tasksDir)).toEqual(["t1"]); // the worktree of the running task
    first.child.kill("SIGKILL");
    await first.exited;
    const second = await startServerProcess(args);
    let job: any;
    await expect
      .poll(
        async () => {
          job = await (await fetch(`${second.url}/batch/jobs/${job_id}`)).json();
          return job.status;
        },
        { timeout: 40_000, interval: 200 },
      )
      .toBe("completed");
    const r = job.result.results[0];
    expect(r.files_changed).toEqual(["whole.py"]); // nothing of the killed run
    expect(existsSync(join(root, "whole.py"))).toBe(true);
    expect(existsSync(join(root, "half.py"))).toBe(false);
    expect(existsSync(tasksDir) ? readdirSync(tasksDir) : []).toEqual([]);
    expect(git(root, "worktree", "list").split("\n")).toHaveLength(1);
  });
});

describe("ollama-coder run --isolation worktree", () => {
  it("runs the task on a branch of its own and merges it into the checked-out branch", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", fileWriter());
    const dir = tempDir();
    const root = join(dir, "project");
    makeProject(root, true);
    const out = await runCli([
      "run",
      "write mul.py=def mul(a, b):\\n    return a * b\\n",
      "--project-root",
      root,
      "--workspaces-dir",
      join(dir, "workspaces"),
      "--check-command",
      "python3 check.py",
      "--reviewer-model",
      "none",
      "--ollama-url",
      ollama.url,
      "--sandbox",
      "off",
      "--isolation",
      "worktree",
    ]);
    expect(out.code, out.stdout + out.stderr).toBe(0);
    expect(out.stdout).toMatch(/branch: ollama-coder\/run-[a-z0-9]+\/task; apply: \{"status":"merged"/);
    expect(readFileSync(join(root, "mul.py"), "utf8")).toContain("a * b");
    expect(git(root, "log", "--format=%s", "-1")).toBe("write mul.py=def mul(a, b):\\n    return a * b\\n");
    expect(git(root, "status", "--porcelain")).toBe("");
  });
});

describe("several tries of a task", () => {
  it("attempts: 3 — the try that solves it is merged, the others stop; every try keeps its branch", async () => {
    const ollama = await fakeOllama();
    // Only the third try (seed 3) writes a module that passes the check; the others write a broken one.
    ollama.script("qwen2.5-coder:7b", (b) => {
      if (toolResults(b).length > 0) return { content: "Done." };
      const good = b.options?.seed === 3;
      return {
        delayMs: good ? 100 : 20,
        toolCalls: [
          {
            name: "write_file",
            arguments: {
              path: "test_mul.py",
              content: good
                ? "def test_mul():\n    assert 2 * 3 == 6\n"
                : "def test_mul():\n    assert 2 * 3 == 5\n",
            },
          },
        ],
      };
    });
    const dir = tempDir();
    makeProject(join(dir, "project"), true);
    const { t, root } = await agentApp(ollama.url, {}, dir);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "t1", description: "Add a test for mul" }],
      attempts: 3,
      reviewer_model: null,
      check_command: "python3 check.py",
      max_loops: 4,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    const r = done.result.results[0];
    expect(r.status).toBe("completed");
    expect(r.branch).toBe(`ollama-coder/${res.body.job_id}/t1-try3`);
    expect(r.apply.status).toBe("merged");
    expect(readFileSync(join(root, "test_mul.py"), "utf8")).toContain("== 6");
    expect(r.tries.map((x: any) => [x.try, x.outcome])).toEqual([
      [1, expect.stringMatching(/^(cancelled|failed)$/)],
      [2, expect.stringMatching(/^(cancelled|failed)$/)],
      [3, "chosen"],
    ]);
    expect(r.tries[1]).toMatchObject({ seed: 2 });
    for (const k of [1, 2, 3])
      expect(git(root, "rev-parse", "--verify", `${r.tries[k - 1].branch}`)).toMatch(/^[0-9a-f]{40}$/);
    // Each try asked the model with its own settings: the job's first, then reseeded.
    const seeds = new Set(ollama.requests.map((q) => q.body.options?.seed ?? "none"));
    expect(seeds).toEqual(new Set(["none", 2, 3]));
  });
});

describe("isolation options that cannot work are refused at submit", () => {
  it.each([
    [{ isolation: "copy", target_branch: "feature/x" }, /target_branch needs isolation 'worktree'/],
    [{ target_branch: "bad..name" }, /'bad\.\.name' is not a branch name git accepts/],
    [{ target_branch: "x", apply: "patch" }, /only used by apply 'merge'/],
    [{ isolation: "shared", attempts: 2 }, /several attempts need workspaces of their own/],
  ])("%j", async (options, message) => {
    const ollama = await fakeOllama();
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", { tasks: [{ description: "x" }], ...options });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.detail)).toMatch(message);
  });
});
