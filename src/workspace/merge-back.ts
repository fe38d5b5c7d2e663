import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { git, gitOut } from "./git.js";
import type { JobWorkspaces } from "./job-workspaces.js";
import { findRepo, projectStatus } from "./project-repo.js";
import { oneAtATime } from "./repo-lock.js";

/** How merging a task's branch into the project went. */
export interface MergeOutcome {
  status: "merged" | "conflict" | "refused";
  /** conflict: the files both sides changed differently; refused: the files in the way. */
  files?: string[];
  /** merged: the commit the target now points at (a project with git). */
  commit?: string;
  /** What was merged into: a branch name, or "project" (a project without git). */
  target?: string;
  /** refused: why. */
  detail?: string;
}

/** The project's files, reached race-free beneath its root (a project without git is written through it). */
export interface ProjectFiles {
  /** The file's text, or null when there is none. */
  read(path: string): Promise<string | null>;
  write(path: string, content: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/**
 * Merges a task's commit into the project with a 3-way merge against the job's base. Never leaves conflict
 * markers and never touches uncommitted work: a conflict or a dirty project changes nothing, and the task's
 * branch keeps its work either way.
 * - project with git: onto the branch checked out there (refused while it has uncommitted changes), or onto
 *   `targetBranch` (created from the base when missing; the project's files are touched only if it is the
 *   branch checked out);
 * - project without git (`copy`): file by file into the project, all or nothing.
 */
export function mergeTask(
  ws: JobWorkspaces,
  commit: string,
  o: { targetBranch?: string | null; files: ProjectFiles; label: string },
): Promise<MergeOutcome> {
  if (ws.isolation !== "worktree")
    return oneAtATime(ws.repo?.top ?? ws.projectRoot, "merges", () => mergeIntoFiles(ws, commit, o.files));
  const key = ws.repo?.top ?? ws.projectRoot;
  return new Promise<MergeOutcome>((resolve, reject) => {
    const waiting = pending.get(key);
    const request: MergeRequest = {
      ws,
      commit,
      targetBranch: o.targetBranch ?? null,
      label: o.label,
      resolve,
      reject,
    };
    if (waiting) {
      waiting.push(request);
      return;
    }
    pending.set(key, [request]);
    // Whoever asks while the merges before run joins this batch: one turn of the repository's lock merges them
    // all, with one look at the project and one move of the branch.
    void oneAtATime(key, "merges", async () => {
      const batch = pending.get(key) ?? [];
      pending.delete(key);
      for (const group of byTarget(batch)) await mergeGroup(group);
    });
  });
}

interface MergeRequest {
  ws: JobWorkspaces;
  commit: string;
  targetBranch: string | null;
  label: string;
  resolve(o: MergeOutcome): void;
  reject(e: unknown): void;
}

/** Merges asked for and not yet started, per repository. */
const pending = new Map<string, MergeRequest[]>();

/** Requests into the same branch (named, or the one checked out) from the same project directory, in order. */
function byTarget(batch: MergeRequest[]): MergeRequest[][] {
  const groups = new Map<string, MergeRequest[]>();
  for (const r of batch) {
    const key = `${r.ws.projectRoot}\0${r.targetBranch ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()];
}

async function mergeGroup(group: MergeRequest[]): Promise<void> {
  try {
    const outcomes = await mergeIntoRepo(group);
    if (outcomes === null) {
      // The branch could not be moved to the batch's result (a file in the way of one task's change, in the
      // checked-out project): each task again on its own, so that only the one in the way is refused.
      for (const r of group) await mergeGroup([r]);
      return;
    }
    for (const [i, r] of group.entries()) r.resolve(outcomes[i] as MergeOutcome);
  } catch (e) {
    for (const r of group) r.reject(e);
  }
}

/**
 * Merges each request's commit in turn onto the target branch (a fast-forward where the branch is still at the
 * task's base, else a merge commit), then moves the branch once. Returns null when the batch of several could not
 * be moved there for a reason other than another process moving the branch.
 */
async function mergeIntoRepo(group: MergeRequest[]): Promise<MergeOutcome[] | null> {
  const { ws, targetBranch } = group[0] as MergeRequest;
  const all = (o: MergeOutcome) => group.map(() => o);
  const gone = all({ status: "refused", detail: `${ws.projectRoot} is no longer in a git repository` });
  // Into the branch checked out (the usual case): its commit, its name and the uncommitted changes in one look.
  const look =
    targetBranch === null && ws.repo
      ? await projectStatus(ws.repo.top)
      : await findRepo(ws.projectRoot, { tracked: false });
  if (!look || !ws.repo) return gone;
  const top = ws.repo.top;
  const targetName = targetBranch ?? look.branch;
  if (!targetName)
    return all({
      status: "refused",
      detail: "the project's HEAD is detached: check out a branch, or give target_branch",
    });
  const checkedOut = targetName === look.branch;
  if (checkedOut) {
    const dirty = "dirty" in look ? look.dirty : ((await projectStatus(top))?.dirty ?? []);
    if (dirty.length > 0)
      return all({
        status: "refused",
        files: dirty,
        detail: `the project has uncommitted changes (${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", …" : ""}): commit or stash them${targetBranch ? "" : ", or give target_branch"}`,
      });
  }
  const ref = `refs/heads/${targetName}`;
  // The branch checked out is where the project's HEAD is (seen above): one git process fewer per batch.
  const exists =
    checkedOut && look.head
      ? { code: 0, stdout: look.head }
      : await git(top, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], [0, 1]);
  const base = ws.base.base_commit as string;
  if (exists.code !== 0) await git(top, ["update-ref", ref, base, ""]);
  // Another process may move the branch between our look and our update (a second server, a user's commit):
  // then the merges are worked out again on top of where it is now.
  let target = exists.code === 0 ? exists.stdout.trim() : base;
  for (let round = 1; ; round++) {
    const outcomes: MergeOutcome[] = [];
    let tip = target;
    for (const r of group) {
      const merged = await git(
        top,
        ["merge-tree", "--write-tree", "--name-only", "--no-messages", tip, r.commit],
        [0, 1],
      );
      const [tree, ...conflicted] = merged.stdout.split("\n").filter(Boolean);
      if (merged.code === 1) {
        outcomes.push({ status: "conflict", files: conflicted, target: targetName });
        continue;
      }
      // A task's commit sits right on its base: where the branch is still there, the commit itself is the merge.
      tip =
        tip === r.ws.base.base_commit
          ? r.commit
          : await gitOut(top, [
              "commit-tree",
              tree as string,
              "-p",
              tip,
              "-p",
              r.commit,
              "-m",
              `Merge ${r.label}`,
            ]);
      outcomes.push({ status: "merged", commit: tip, target: targetName });
    }
    if (tip === target) return outcomes;
    const moved = checkedOut
      ? await git(top, ["merge", "--ff-only", "--quiet", tip], [0, 1, 128])
      : await git(top, ["update-ref", ref, tip, target], [0, 1, 128]);
    if (moved.code === 0) return outcomes;
    const now = await gitOut(top, ["rev-parse", `${ref}^{commit}`]);
    if (now === target && group.length > 1) return null;
    if (now === target || round >= 5)
      return outcomes.map((o) =>
        o.status === "merged"
          ? { status: "refused", detail: `git refused to update ${targetName}: ${moved.stderr.trim()}` }
          : o,
      );
    target = now;
  }
}

/** git merge-file exits with how many conflicts it left (at most 127); anything else is a failure. */
const MERGE_FILE_ANSWERS = Array.from({ length: 128 }, (_, i) => i);

/** What a project without git gets: each file the task changed, merged against the snapshot it started from. */
async function mergeIntoFiles(ws: JobWorkspaces, commit: string, files: ProjectFiles): Promise<MergeOutcome> {
  const repo = ws.repo?.top as string;
  const base = ws.base.base_commit as string;
  const changed = (await gitOut(repo, ["diff", "--name-only", "-z", "--no-renames", base, commit]))
    .split("\0")
    .filter(Boolean);
  const binary = (await gitOut(repo, ["diff", "--numstat", "-z", "--no-renames", base, commit]))
    .split("\0")
    .filter((l) => l.startsWith("-\t-\t"))
    .map((l) => l.slice(4));
  if (binary.length > 0)
    return {
      status: "refused",
      files: binary,
      detail: "binary files are not merged into a project without git: take them from the task's branch",
    };
  const writes: { path: string; content: string | null }[] = [];
  const conflicts: string[] = [];
  const scratch = mkdtempSync(join(tmpdir(), "ollama-coder-merge-"));
  try {
    for (const path of changed) {
      const [was, now, here] = await Promise.all([
        blob(repo, base, path),
        blob(repo, commit, path),
        files.read(path),
      ]);
      if (here === was) writes.push({ path, content: now });
      else if (here === now) continue;
      else if (here === null || was === null || now === null) conflicts.push(path);
      else {
        const [a, o, b] = ["project", "base", "task"].map((n) => join(scratch, n));
        writeFileSync(a as string, here);
        writeFileSync(o as string, was);
        writeFileSync(b as string, now);
        const m = await git(
          scratch,
          ["merge-file", "-p", "--quiet", a as string, o as string, b as string],
          MERGE_FILE_ANSWERS,
        );
        if (m.code === 0) writes.push({ path, content: m.stdout });
        else conflicts.push(path);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (conflicts.length > 0) return { status: "conflict", files: conflicts, target: "project" };
  for (const w of writes) {
    if (w.content === null) await files.remove(w.path);
    else await files.write(w.path, w.content);
  }
  return { status: "merged", target: "project" };
}

/** A file's text at a commit, or null when it has none there. */
async function blob(repo: string, commit: string, path: string): Promise<string | null> {
  const r = await git(repo, ["cat-file", "blob", `${commit}:${path}`], [0, 128]);
  return r.code === 0 ? r.stdout : null;
}

/** The task's changes as a patch `git apply` takes (binary files included). */
export async function taskPatch(ws: JobWorkspaces, commit: string): Promise<string> {
  return (await git(ws.repo?.top as string, ["diff", "--binary", ws.base.base_commit as string, commit]))
    .stdout;
}
