import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git, gitOut } from "../workspace/git.js";
import { type EvalTask, taskPart } from "./task-spec.js";
import { overlay } from "./tree.js";

/** What Python leaves behind is never part of a task's change. */
const GITIGNORE = "__pycache__/\n*.pyc\n.pytest_cache/\n";

/**
 * The project the agent job runs on: a git repository holding each task's start tree in a directory named
 * after the task (and nothing of its solution or hidden tests), one commit. Returns that commit.
 */
export async function makeEvalProject(root: string, tasks: readonly EvalTask[]): Promise<string> {
  mkdirSync(root, { recursive: true });
  for (const t of tasks) overlay(taskPart(t, "start"), join(root, t.name));
  writeFileSync(join(root, ".gitignore"), GITIGNORE);
  await git(root, ["init", "-q", "-b", "main"]);
  await git(root, ["add", "-A"]);
  await git(root, ["commit", "-q", "-m", "eval tasks: start trees"]);
  return gitOut(root, ["rev-parse", "HEAD"]);
}

/** A task's directory as a commit of the project has it, written to `to` (which must not exist yet). */
export async function checkoutTaskTree(
  root: string,
  commit: string,
  task: string,
  to: string,
): Promise<string> {
  const dir = join(to, task);
  mkdirSync(dir, { recursive: true });
  // Through the project's own index: the project is the eval's, thrown away after. A task that deleted every
  // file of its directory leaves nothing to check out (git says the path matches nothing): an empty tree.
  await git(root, ["--work-tree", to, "checkout", commit, "--", `${task}/`], [0, 1]);
  return dir;
}
