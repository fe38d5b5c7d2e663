import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { git } from "./git.js";

/**
 * A task's linked worktree, registered the way `git worktree add` registers one (gitrepository-layout(5):
 * `<common dir>/worktrees/<id>/` holding `gitdir`, `commondir` and `HEAD`), but without git's bookkeeping
 * lock-step: `git worktree add` must run one at a time per repository (two at once read each other's
 * half-written records: "fatal: failed to read .git/worktrees/t10/commondir"), which made every task of a
 * round wait for the adds of the tasks before it. Here each record is written complete in a directory of its
 * own and renamed into `worktrees/` in one step, so a git process that lists the worktrees (another task's
 * commit, a `git worktree prune`) sees it whole or not at all, and any number are made at once.
 */

/** The record's directory name: fixed for a job's task (a re-run after a crash finds its old one), short. */
export function worktreeId(jobId: string, name: string): string {
  return `oc-${createHash("sha256").update(`${jobId}\0${name}`).digest("hex").slice(0, 20)}`;
}

/** The repository's common git directory (where `worktrees/` and the branches live), absolute. */
export async function commonGitDir(top: string): Promise<string> {
  const out = await git(top, ["rev-parse", "--path-format=absolute", "--git-common-dir"]);
  return out.stdout.trim();
}

/**
 * Points branch `branch` at `base` (made, or moved back there: a re-run starts again from the base) and
 * registers `path` as a worktree on it, with no index and no files (the caller lays the files out). Writes
 * `path/.git`. Returns the record's directory (the worktree's git dir). A record of the same id left by an
 * earlier run is replaced.
 */
export async function addWorktreeRecord(o: {
  commonDir: string;
  id: string;
  path: string;
  branch: string;
  base: string;
}): Promise<string> {
  // Refs are locked one by one by git itself: branches of different tasks are moved at once safely.
  await git(o.commonDir, [`--git-dir=${o.commonDir}`, "update-ref", `refs/heads/${o.branch}`, o.base]);
  const admin = join(o.commonDir, "worktrees", o.id);
  await removeWorktreeRecord(admin);
  // The worktree's .git first: a `git worktree prune` that sees the record must find what it points at.
  mkdirSync(o.path, { recursive: true });
  writeFileSync(join(o.path, ".git"), `gitdir: ${admin}\n`);
  // Written beside `worktrees/` (same file system), not in it: git lists every directory there.
  const draft = mkdtempSync(join(o.commonDir, "oc-worktree-"));
  writeFileSync(join(draft, "gitdir"), `${join(o.path, ".git")}\n`);
  writeFileSync(join(draft, "commondir"), "../..\n");
  writeFileSync(join(draft, "HEAD"), `ref: refs/heads/${o.branch}\n`);
  mkdirSync(join(o.commonDir, "worktrees"), { recursive: true });
  renameSync(draft, admin);
  return admin;
}

/** Forgets a worktree record (its branch stays): out of `worktrees/` in one step, then deleted. */
export async function removeWorktreeRecord(admin: string): Promise<void> {
  const aside = join(admin, "..", "..", `oc-gone-${basename(admin)}-${randomBytes(4).toString("hex")}`);
  try {
    renameSync(admin, aside);
  } catch {
    return; // none, or another process removed it first
  }
  await rm(aside, { recursive: true, force: true });
}

/** Drafts and set-aside records a process that died left in the repository's git directory. */
export async function dropLeftRecords(commonDir: string): Promise<void> {
  const left = readdirSync(commonDir).filter((n) => /^oc-(worktree|gone)-/.test(n));
  await Promise.all(left.map((n) => rm(join(commonDir, n), { recursive: true, force: true })));
}
