import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { git } from "./git.js";
import { mountsUnder, unmountNow } from "./overlay.js";
import { dirPart, findRepo } from "./project-repo.js";
import { commonGitDir, dropLeftRecords } from "./worktree-record.js";

/**
 * Removes the task workspaces a process that died left behind (their branches stay): call it when no task
 * of this workspaces directory runs, at start-up. Returns how many were removed.
 */
export async function pruneWorkspaces(workspacesDir: string, projectRoot: string): Promise<number> {
  if (!existsSync(workspacesDir)) return 0;
  for (const at of mountsUnder(workspacesDir)) unmountNow(at); // overlays of tasks a dead process ran
  let removed = 0;
  for (const job of readdirSync(workspacesDir)) {
    const tasks = join(workspacesDir, job, "tasks");
    if (!existsSync(tasks)) continue;
    for (const name of readdirSync(tasks)) {
      rmSync(join(tasks, name), { recursive: true, force: true });
      removed++;
    }
    rmSync(join(workspacesDir, job, "overlay"), { recursive: true, force: true });
    const snapshot = join(workspacesDir, job, "snapshot", "repo.git");
    if (existsSync(snapshot)) {
      await git(snapshot, ["worktree", "prune"]);
      await dropLeftRecords(snapshot);
    }
  }
  const project = await findRepo(projectRoot).catch(() => null);
  if (project) {
    await git(project.top, ["worktree", "prune"]);
    await dropLeftRecords(await commonGitDir(project.top));
  }
  return removed;
}

/**
 * Removes everything a deleted job kept under `workspacesDir`: its base, a copy's snapshot repository (with
 * the tasks' branches), anything a crash left. Branches in the project's own repository stay: they are the
 * user's.
 */
export async function removeJobWorkspaces(workspacesDir: string, jobId: string): Promise<void> {
  const dir = join(workspacesDir, dirPart(jobId));
  if (!existsSync(dir)) return;
  for (const at of mountsUnder(dir)) unmountNow(at);
  rmSync(dir, { recursive: true, force: true });
}
