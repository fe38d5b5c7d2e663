import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { JobWorkspaces } from "../src/workspace/job-workspaces.js";
import { mergeTask, type ProjectFiles, taskPatch } from "../src/workspace/merge-back.js";
import { overlayUsable } from "../src/workspace/overlay.js";
import { findRepo, projectStatus } from "../src/workspace/project-repo.js";
import { parseShow, type TaskWorkspace } from "../src/workspace/task-workspace.js";
import { tempDir } from "./helpers/temp.js";

const sh = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd,
    encoding: "utf8",
  }).trim();

function write(root: string, rel: string, content: string) {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}

/** A project with `calc.py` and its test, committed in a repository (or not). */
function project(withGit: boolean): string {
  const root = join(tempDir(), "project");
  write(root, "calc.py", "def add(a, b):\n    return a + b\n");
  write(root, "test_calc.py", "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n");
  if (withGit) {
    sh(root, "init", "-q", "-b", "main");
    write(root, ".gitignore", "node_modules/\n");
    sh(root, "add", "-A");
    sh(root, "commit", "-qm", "start");
  }
  return root;
}

/** The project's files as the server reaches them (plain fs here; the server uses the sandbox's). */
const fsFiles = (root: string): ProjectFiles => ({
  read: async (p) => (existsSync(join(root, p)) ? readFileSync(join(root, p), "utf8") : null),
  write: async (p, c) => write(root, p, c),
  remove: async (p) => rmSync(join(root, p), { force: true }),
});

async function jobOn(root: string, isolation?: "worktree" | "copy", layout?: "overlay" | "checkout") {
  return JobWorkspaces.prepare({
    projectRoot: root,
    workspacesDir: join(tempDir(), "workspaces"),
    jobId: "batch_agent_tasks-abc123",
    isolation,
    layout,
  });
}

describe.each([
  ["worktree", true, "overlay"],
  ["worktree", true, "checkout"],
  ["copy", false, "overlay"],
  ["copy", false, "checkout"],
] as const)("task workspaces: %s, %s", (isolation, withGit, layout) => {
  it("isolates tasks from each other, commits each on its branch, merges them back one at a time", async () => {
    const root = project(withGit);
    const job = await jobOn(root, undefined, layout);
    expect(job.isolation).toBe(isolation);
    if (layout === "overlay" && overlayUsable()) expect(job.layout).toBe("overlay");
    expect(job.base.base_commit).toMatch(/^[0-9a-f]{40}$/);
    const a = await job.open("task-a");
    const b = await job.open("task-b");
    expect(a.root).not.toBe(b.root);
    expect(a.branch).toBe("ollama-coder/batch_agent_tasks-abc123/task-a");
    write(a.root, "test_broken.py", "def test_no():\n    assert False\n");
    write(b.root, "mul.py", "def mul(a, b):\n    return a * b\n");
    mkdirSync(join(b.root, "__pycache__"));
    write(b.root, "__pycache__/mul.cpython-311.pyc", "noise");
    expect(existsSync(join(b.root, "test_broken.py"))).toBe(false); // a's half-done work is not b's
    expect(existsSync(join(root, "test_broken.py"))).toBe(false); // nor the project's
    const ca = await a.commit("Add a failing test");
    const cb = await b.commit("Add mul");
    expect(ca.files).toEqual(["test_broken.py"]);
    expect(cb.files).toEqual(["mul.py"]); // the cache is noise, not a change
    expect(cb.diff).toContain("+def mul(a, b):");
    const files = fsFiles(root);
    const mb = await mergeTask(job, cb.commit as string, { files, label: "task-b" });
    const ma = await mergeTask(job, ca.commit as string, { files, label: "task-a" });
    expect([mb.status, ma.status]).toEqual(["merged", "merged"]);
    expect(readFileSync(join(root, "mul.py"), "utf8")).toContain("a * b");
    expect(existsSync(join(root, "test_broken.py"))).toBe(true);
    if (withGit) {
      expect(sh(root, "status", "--porcelain")).toBe(""); // merged as commits, nothing left uncommitted
      expect(sh(root, "log", "--format=%s", "-3").split("\n")).toContain("Add mul");
    }
    await a.remove();
    await b.remove();
    expect(existsSync(a.root)).toBe(false);
    const repo = job.repo?.top as string;
    expect(sh(repo, "branch", "--list", "ollama-coder/*", "--format=%(refname:short)").split("\n")).toEqual([
      "ollama-coder/batch_agent_tasks-abc123/task-a",
      "ollama-coder/batch_agent_tasks-abc123/task-b",
    ]); // the branches stay
  });

  it("two tasks changing the same line: one merges, the other ends in conflict, no markers, its branch kept", async () => {
    const root = project(withGit);
    const job = await jobOn(root, undefined, layout);
    const a = await job.open("a");
    const b = await job.open("b");
    write(a.root, "calc.py", "def add(a, b):\n    return b + a\n");
    write(b.root, "calc.py", "def add(a, b):\n    return sum((a, b))\n");
    const ca = await a.commit("a");
    const cb = await b.commit("b");
    const files = fsFiles(root);
    expect((await mergeTask(job, ca.commit as string, { files, label: "a" })).status).toBe("merged");
    const second = await mergeTask(job, cb.commit as string, { files, label: "b" });
    expect(second).toMatchObject({ status: "conflict", files: ["calc.py"] });
    const now = readFileSync(join(root, "calc.py"), "utf8");
    expect(now).toBe("def add(a, b):\n    return b + a\n");
    expect(now).not.toMatch(/<<<<<<<|>>>>>>>/);
    expect(sh(job.repo?.top as string, "show", `${b.branch}:calc.py`)).toContain("sum((a, b))");
    expect(await taskPatch(job, cb.commit as string)).toContain("+    return sum((a, b))");
  });

  it("changes to different parts of one file merge", async () => {
    const root = project(withGit);
    const job = await jobOn(root, undefined, layout);
    const a = await job.open("a");
    const b = await job.open("b");
    write(a.root, "calc.py", "# calculator\ndef add(a, b):\n    return a + b\n");
    write(b.root, "calc.py", "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n");
    const files = fsFiles(root);
    await mergeTask(job, (await a.commit("a")).commit as string, { files, label: "a" });
    expect((await mergeTask(job, (await b.commit("b")).commit as string, { files, label: "b" })).status).toBe(
      "merged",
    );
    expect(readFileSync(join(root, "calc.py"), "utf8")).toBe(
      "# calculator\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    );
  });

  it("shares node_modules read-only as a link, never commits it; a second open starts afresh", async () => {
    const root = project(withGit);
    write(root, "node_modules/lib/index.js", "module.exports = 1;\n");
    const job = await jobOn(root, undefined, layout);
    const t = await job.open("t");
    expect(readFileSync(join(t.root, "node_modules/lib/index.js"), "utf8")).toContain("module.exports");
    expect(t.linked).toEqual([join(root, "node_modules")]);
    write(t.root, "half-done.py", "x = 1\n");
    const again = await job.open("t"); // the task re-runs (its process died): nothing of the last run is left
    expect(existsSync(join(again.root, "half-done.py"))).toBe(false);
    write(again.root, "done.py", "x = 2\n");
    expect((await again.commit("t")).files).toEqual(["done.py"]);
    await job.dispose();
    expect(existsSync(again.root)).toBe(false);
    expect(sh(job.repo?.top as string, "worktree", "list").split("\n")).toHaveLength(1); // only the repository itself
  });

  it("sixteen tasks open at once (git's worktree bookkeeping never taken in turns), each a worktree git knows", async () => {
    const root = project(withGit);
    const job = await jobOn(root, undefined, layout);
    const repo = job.repo?.top as string;
    const ids = Array.from({ length: 16 }, (_, i) => `t${i}`);
    // A prune running meanwhile (another job's end) must neither fail nor take a record being made.
    const [tasks] = await Promise.all([
      Promise.all(ids.map((id) => job.open(id))),
      new Promise<void>((resolve, reject) =>
        execFile("git", ["-C", repo, "worktree", "prune"], (e) => (e ? reject(e) : resolve())),
      ),
    ]);
    const listed = sh(repo, "worktree", "list", "--porcelain");
    for (const [i, t] of tasks.entries()) {
      expect(listed).toContain(`branch refs/heads/${t.branch}`);
      expect(sh(t.root, "status", "--porcelain")).toBe(""); // a clean checkout of the base
      write(t.root, `f${i}.txt`, `${i}\n`);
    }
    const commits = await Promise.all(tasks.map((t, i) => t.commit(`task ${i}`)));
    expect(commits.map((c) => c.files)).toEqual(ids.map((_, i) => [`f${i}.txt`]));
    const taskWorktrees = () =>
      sh(repo, "worktree", "list", "--porcelain")
        .split("\n")
        .filter((l) => l.startsWith("branch refs/heads/ollama-coder/"));
    sh(repo, "worktree", "prune"); // a live task's record survives a prune
    expect(taskWorktrees()).toHaveLength(16);
    await Promise.all(tasks.map((t) => t.remove()));
    expect(taskWorktrees()).toHaveLength(0); // removed with the task, no prune needed
    expect(sh(repo, "branch", "--list", "ollama-coder/*").split("\n")).toHaveLength(16); // the branches stay
  });
});

describe("the project's status in one look", () => {
  it("names the branch, the commit and every uncommitted tracked file, spaces and renames included", async () => {
    const root = project(true);
    write(root, "with space.py", "x = 1\n");
    sh(root, "add", "with space.py");
    sh(root, "commit", "-qm", "more");
    const head = sh(root, "rev-parse", "HEAD");
    expect(await projectStatus(root)).toEqual({ head, branch: "main", dirty: [] });
    write(root, "with space.py", "x = 2\n");
    sh(root, "mv", "calc.py", "renamed calc.py");
    write(root, "untracked.py", "ignored by the look\n");
    const seen = await projectStatus(root);
    expect(seen?.dirty.sort()).toEqual(["renamed calc.py", "with space.py"]);
    sh(root, "checkout", "-q", "--detach");
    expect((await projectStatus(root))?.branch).toBeNull();
  });

  it("a repository without a commit has no head; a directory outside git has no status", async () => {
    const fresh = join(tempDir(), "fresh");
    mkdirSync(fresh, { recursive: true });
    expect(await projectStatus(fresh)).toBeNull();
    sh(fresh, "init", "-q", "-b", "trunk");
    expect(await projectStatus(fresh)).toEqual({ head: null, branch: "trunk", dirty: [] });
  });
});

describe("merging into a project with git", () => {
  it("refuses to touch uncommitted work, naming the files; target_branch merges beside it", async () => {
    const root = project(true);
    const job = await jobOn(root, "worktree");
    const t = await job.open("t");
    write(t.root, "mul.py", "def mul(a, b):\n    return a * b\n");
    const { commit } = await t.commit("Add mul");
    write(root, "calc.py", "# my edit in progress\n");
    const files = fsFiles(root);
    const refused = await mergeTask(job, commit as string, { files, label: "t" });
    expect(refused).toMatchObject({ status: "refused", files: ["calc.py"] });
    expect(refused.detail).toMatch(/uncommitted changes \(calc\.py\)/);
    expect(existsSync(join(root, "mul.py"))).toBe(false);
    const aside = await mergeTask(job, commit as string, { files, label: "t", targetBranch: "integration" });
    expect(aside).toMatchObject({ status: "merged", target: "integration" });
    expect(sh(root, "show", "integration:mul.py")).toContain("a * b");
    expect(readFileSync(join(root, "calc.py"), "utf8")).toBe("# my edit in progress\n"); // untouched
  });

  it("merges asked for together go in one batch: each its own commit, a conflict in the middle skipped", async () => {
    const root = project(true);
    const job = await jobOn(root, "worktree");
    const tasks = await Promise.all(["a", "b", "c", "d"].map((id) => job.open(id)));
    const [a, b, c, d] = tasks as [TaskWorkspace, TaskWorkspace, TaskWorkspace, TaskWorkspace];
    write(a.root, "calc.py", "def add(a, b):\n    return b + a\n");
    write(b.root, "calc.py", "def add(a, b):\n    return sum((a, b))\n"); // the same line as a
    write(c.root, "mul.py", "def mul(a, b):\n    return a * b\n");
    write(d.root, "sub.py", "def sub(a, b):\n    return a - b\n");
    const commits = await Promise.all(tasks.map((t, i) => t.commit(`task ${i}`)));
    const files = fsFiles(root);
    // Asked for in one tick: the first takes the lock, the other three wait and go together.
    const outcomes = await Promise.all(
      commits.map((ch, i) => mergeTask(job, ch.commit as string, { files, label: `t${i}` })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["merged", "conflict", "merged", "merged"]);
    expect(outcomes[1]).toMatchObject({ files: ["calc.py"], target: "main" });
    expect(outcomes[0]?.commit).toBe(commits[0]?.commit); // a fast-forward: the task's own commit
    expect(sh(root, "rev-parse", "HEAD")).toBe(outcomes[3]?.commit);
    expect(sh(root, "rev-list", "--count", "--first-parent", `${outcomes[2]?.commit}..HEAD`)).toBe("1"); // one merge per task
    expect(sh(root, "status", "--porcelain")).toBe("");
    expect(readFileSync(join(root, "calc.py"), "utf8")).toBe("def add(a, b):\n    return b + a\n");
    expect(existsSync(join(root, "mul.py")) && existsSync(join(root, "sub.py"))).toBe(true);
  });

  it("a batch the branch cannot move to is merged task by task: only the task in the way is refused", async () => {
    const root = project(true);
    const job = await jobOn(root, "worktree");
    const [a, b, c] = (await Promise.all(["a", "b", "c"].map((id) => job.open(id)))) as TaskWorkspace[];
    write(a!.root, "one.py", "x = 1\n");
    write(b!.root, "two.py", "x = 2\n");
    write(c!.root, "three.py", "x = 3\n");
    write(root, "two.py", "my own untracked file\n"); // in the way of b's change
    const commits = await Promise.all([a!, b!, c!].map((t) => t.commit("t")));
    const files = fsFiles(root);
    const outcomes = await Promise.all(
      commits.map((ch, i) => mergeTask(job, ch.commit as string, { files, label: `t${i}` })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["merged", "refused", "merged"]);
    expect(readFileSync(join(root, "two.py"), "utf8")).toBe("my own untracked file\n");
    expect(existsSync(join(root, "one.py")) && existsSync(join(root, "three.py"))).toBe(true);
  });

  it("worktree isolation needs a repository with a commit, and says so", async () => {
    const root = project(false);
    await expect(jobOn(root, "worktree")).rejects.toThrow(
      /not inside a git repository \(use isolation 'copy'\)/,
    );
  });
});

describe("what a project is", () => {
  it("a directory that the enclosing repository ignores is no project of it: copy, not a worktree of the outer repo", async () => {
    const outer = join(tempDir(), "outer");
    write(outer, ".gitignore", "project/\n");
    write(outer, "README", "not the project\n");
    sh(outer, "init", "-q", "-b", "main");
    sh(outer, "add", "-A");
    sh(outer, "commit", "-qm", "outer");
    const root = join(outer, "project");
    write(root, "calc.py", "def add(a, b):\n    return a + b\n");
    const job = await jobOn(root);
    expect(job.isolation).toBe("copy");
    expect(sh(outer, "branch", "--list", "ollama-coder/*")).toBe(""); // nothing lands in the outer repository
    await expect(jobOn(root, "worktree")).rejects.toThrow(
      /has no files in the commit .* \(is it ignored there\?\)/,
    );
  });

  it("files the task's tools wrote are committed even where the project's .gitignore leaves them out", async () => {
    const root = project(true);
    write(root, ".gitignore", "node_modules/\n*.local\nbuild/\n");
    sh(root, "commit", "-qam", "ignore more");
    const job = await jobOn(root);
    const t = await job.open("t");
    write(t.root, "settings.local", "written by the tool\n");
    write(t.root, "build/out.txt", "made by a command\n");
    const c = await t.commit("t", ["settings.local"]);
    expect(c.files).toEqual(["settings.local"]); // the tool's file; a command's build output stays out
  });
});

describe("a hostile task's workspace", () => {
  it.each(["overlay", "checkout"] as const)(
    "%s: a .git it rewrote to point at a repository of its own runs nothing of it when the server commits",
    async (layout) => {
      const root = project(true);
      const job = await jobOn(root, "worktree", layout);
      const t = await job.open("evil");
      // What a jailed command may do in its workspace: a repository of its own whose config runs a program
      // whenever git looks at the work tree, and the worktree's .git pointed at it.
      const marker = join(tempDir(), "pwned");
      const evil = join(t.root, "evil-repo");
      sh(t.root, "init", "-q", evil);
      sh(evil, "commit", "-q", "--allow-empty", "-m", "the task's own");
      sh(evil, "config", "core.fsmonitor", `touch ${marker}; false`);
      writeFileSync(join(t.root, ".git"), `gitdir: ${join(evil, ".git")}\n`);
      write(t.root, "work.py", "x = 1\n");
      const c = await t.commit("evil task", ["work.py"]);
      expect(existsSync(marker)).toBe(false); // nothing of the task ran outside its jail
      expect(c.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(sh(root, "show", `${t.branch}:work.py`)).toBe("x = 1"); // committed where it belongs
      await t.remove();
    },
  );
});

describe("hostile task ids", () => {
  it.each(["../../../escape", "/abs/path", "..", "a/../../b", "-rf", "x.lock", "@{-1}"])(
    "%j: its workspace and branch stay inside the job's",
    async (id) => {
      const root = project(true);
      const job = await jobOn(root, "worktree");
      const t = await job.open(id);
      expect(t.root.startsWith(`${job.dir}/tasks/`)).toBe(true);
      expect(t.root.slice(`${job.dir}/tasks/`.length)).not.toMatch(/\/|^\.\.?$/);
      expect(t.branch?.startsWith("ollama-coder/batch_agent_tasks-abc123/")).toBe(true);
      expect(sh(root, "check-ref-format", `refs/heads/${t.branch}`)).toBe("");
      await t.remove();
    },
  );
});

describe("reading git's answers", () => {
  it("finds the repository, the project's place in it, its commit and branch in any state", async () => {
    const root = join(tempDir(), "repo");
    mkdirSync(join(root, "sub"), { recursive: true });
    expect(await findRepo(root)).toBeNull();
    sh(root, "init", "-q", "-b", "trunk");
    expect(await findRepo(join(root, "sub"))).toMatchObject({
      top: root,
      prefix: "sub/",
      head: null,
      branch: "trunk",
    });
    write(root, "sub/a.py", "a = 1\n");
    sh(root, "add", "-A");
    sh(root, "commit", "-qm", "one");
    const head = sh(root, "rev-parse", "HEAD");
    expect(await findRepo(join(root, "sub"))).toEqual({
      top: root,
      prefix: "sub/",
      head,
      branch: "trunk",
      tracked: true,
    });
    mkdirSync(join(root, "untracked"));
    expect((await findRepo(join(root, "untracked")))?.tracked).toBe(false);
    sh(root, "checkout", "-q", "--detach");
    expect(await findRepo(root)).toMatchObject({ head, branch: null });
    expect(await findRepo(join(root, ".git"))).toBeNull(); // no work tree there
  });

  it("reads a commit's id, files (a rename by its new name, odd names whole) and patch from one git show", () => {
    const root = join(tempDir(), "repo");
    mkdirSync(root, { recursive: true });
    sh(root, "init", "-q", "-b", "main");
    write(root, "old name.py", "x = 1\n".repeat(20));
    write(root, "keep.py", "k = 1\n");
    sh(root, "add", "-A");
    sh(root, "commit", "-qm", "one");
    sh(root, "mv", "old name.py", "new\tname.py");
    write(root, "keep.py", "k = 2\n");
    write(root, "ünï.py", "u = 1\n");
    sh(root, "add", "-A");
    sh(root, "commit", "-qm", "two");
    const out = execFileSync(
      "git",
      ["-c", "core.quotePath=false", "show", "--no-color", "--format=%H", "-z", "--patch-with-raw", "HEAD"],
      { cwd: root, encoding: "utf8" },
    );
    const changes = parseShow(out);
    expect(changes.commit).toBe(sh(root, "rev-parse", "HEAD"));
    expect(changes.files.sort()).toEqual(["keep.py", "new\tname.py", "ünï.py"]);
    expect(changes.diff).toMatch(/^diff --git /);
    expect(changes.diff).toContain("+k = 2");
    expect(changes.diff).toContain("+u = 1");
  });
});

describe("names made from ids", () => {
  it("keep a safe id as it is, and give every other id a name of its own", async () => {
    const { branchPart } = await import("../src/workspace/project-repo.js");
    expect(branchPart("task-a")).toBe("task-a");
    const names = ["a b", "a-b", "a/b", "a_b", "t", "t/x", "../up", "a.lock", ""].map(branchPart);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n).not.toMatch(/\/|^\.|\.\.|\.lock$|\s/);
      expect(n.length).toBeLessThanOrEqual(200);
    }
    expect(branchPart("x".repeat(500))).toHaveLength(199);
  });
});
