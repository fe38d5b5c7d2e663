import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoderError } from "../errors.js";
import { git, gitOut } from "./git.js";

/**
 * Where a task that depends on others (`depends_on`) starts from, with isolated workspaces: each task's
 * resulting commit is kept under the job's workspaces directory (`commits/<task>`), and a dependant starts
 * from its dependencies' commits, merged when there are several (a conflict fails it, naming the files).
 */

/** Keeps the commit a task ended on (its changes, or the commit it started from when it changed nothing). */
export function recordTaskCommit(jobDir: string, name: string, commit: string): void {
  mkdirSync(join(jobDir, "commits"), { recursive: true });
  writeFileSync(join(jobDir, "commits", name), `${commit}\n`);
}

function taskCommit(jobDir: string, name: string): string | null {
  const file = join(jobDir, "commits", name);
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

/**
 * The commit a dependant starts from, in repository `top`: its dependencies' commits (by their directory
 * names, `names`; one not recorded — it never ran here — counts as the job's `base`), merged into one commit
 * when they differ. Throws a `conflict` CoderError when their changes cannot be merged.
 */
export async function dependenciesCommit(
  top: string,
  jobDir: string,
  base: string,
  deps: readonly { id: string; name: string }[],
): Promise<string> {
  const commits = [...new Set(deps.map((d) => taskCommit(jobDir, d.name) ?? base))];
  let merged = commits[0] ?? base;
  for (const next of commits.slice(1)) {
    const r = await git(
      top,
      ["merge-tree", "--write-tree", "--name-only", "--no-messages", merged, next],
      [0, 1],
    );
    const [tree, ...files] = r.stdout.trim().split("\n");
    if (r.code === 1)
      throw new CoderError(
        "conflict",
        `the changes of this task's dependencies (${deps.map((d) => d.id).join(", ")}) conflict in ${files.filter(Boolean).join(", ")}: the task did not run`,
      );
    merged = await gitOut(top, [
      "commit-tree",
      tree as string,
      "-p",
      merged,
      "-p",
      next,
      "-m",
      `ollama-coder: dependencies ${deps.map((d) => d.id).join(", ")} merged`,
    ]);
  }
  return merged;
}
