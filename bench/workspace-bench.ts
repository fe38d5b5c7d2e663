import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JobWorkspaces } from "../src/workspace/job-workspaces.js";
import { benchDir, fmt, median, percentile, type Row } from "./lib.js";

/** A repository of `dirs` x `perDir` tracked Python files of about 1 KiB, one commit. */
function generatedRepo(dirs: number, perDir: number): string {
  const root = join(benchDir("workspace"), "repo");
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, `pkg${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const body = Array.from({ length: 24 }, (_, i) => `def f${i}(x):\n    return x * ${d} + ${f} - ${i}\n`);
      writeFileSync(join(dir, `mod${f}.py`), body.join("\n"));
    }
  }
  commitAll(root, "generated");
  return root;
}

/** Makes `root` a git repository with one commit of everything in it, packed as a cloned repository is. */
export function commitAll(root: string, message: string): void {
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=b", "-c", "user.email=b@b", ...args], {
      cwd: root,
      stdio: "ignore",
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-qm", message);
  git("repack", "-a", "-d", "-q");
}

/**
 * What a task's own workspace costs on a repository of 5,000 tracked files: `git worktree add` from the job's
 * base, one file written and committed, the worktree removed; `parallel` tasks at a time. Milliseconds per
 * task for set-up plus clean-up (the commit, which depends on what the task changed, is reported apart).
 */
export async function workspaceCost(parallel: number, tasks: number) {
  const root = generatedRepo(50, 100);
  const ws = await JobWorkspaces.prepare({
    projectRoot: root,
    workspacesDir: join(benchDir("workspace"), "ws"),
    jobId: "bench",
  });
  const setup: number[] = [];
  const commit: number[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tasks; i = next++) {
      const t0 = performance.now();
      const task = await ws.open(`t${i}`);
      const t1 = performance.now();
      writeFileSync(join(task.root, `new${i}.py`), "x = 1\n");
      await task.commit(`task ${i}`);
      const t2 = performance.now();
      await task.remove();
      const t3 = performance.now();
      setup.push(t1 - t0 + (t3 - t2));
      commit.push(t2 - t1);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  const wall = performance.now() - t0;
  return { setup, commit, wall, files: 5000 };
}

export function workspaceRows(r: Awaited<ReturnType<typeof workspaceCost>>, parallel: number): Row[] {
  const med = median(r.setup);
  return [
    {
      metric: `task workspace set-up + clean-up, ${r.files} tracked files, parallel ${parallel}, ${r.setup.length} tasks: median`,
      value: `${fmt(med, 0)} ms`,
      target: "< 500 ms",
      ok: med < 500,
    },
    { metric: "the same, p95", value: `${fmt(percentile(r.setup, 95), 0)} ms` },
    { metric: "commit of a one-file change, median", value: `${fmt(median(r.commit), 0)} ms` },
    {
      metric: "throughput of workspaces alone (all tasks' wall time / tasks)",
      value: `${fmt(r.wall / r.setup.length, 0)} ms per task, ${fmt(r.setup.length / (r.wall / 1000), 1)} tasks/s`,
    },
  ];
}
