import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { git, gitOut } from "./git.js";
import type { JobWorkspaces } from "./job-workspaces.js";
import { dirtyFiles, findRepo } from "./project-repo.js";
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
  return oneAtATime(ws.repo?.top ?? ws.projectRoot, "merges", () =>
    ws.isolation === "worktree" ? mergeIntoRepo(ws, commit, o) : mergeIntoFiles(ws, commit, o.files),
  );
}

async function mergeIntoRepo(
  ws: JobWorkspaces,
  commit: string,
  o: { targetBranch?: string | null; label: string },
): Promise<MergeOutcome> {
  const project = await findRepo(ws.projectRoot);
  if (!project) return { status: "refused", detail: `${ws.projectRoot} is no longer in a git repository` };
  const top = project.top;
  const targetName = o.targetBranch ?? project.branch;
  if (!targetName)
    return {
      status: "refused",
      detail: "the project's HEAD is detached: check out a branch, or give target_branch",
    };
  const checkedOut = targetName === project.branch;
  if (checkedOut) {
    const dirty = await dirtyFiles(top);
    if (dirty.length > 0)
      return {
        status: "refused",
        files: dirty,
        detail: `the project has uncommitted changes (${dirty.slice(0, 5).join(", ")}${dirty.length > 5 ? ", …" : ""}): commit or stash them${o.targetBranch ? "" : ", or give target_branch"}`,
      };
  }
  const ref = `refs/heads/${targetName}`;
  const exists = await git(top, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], [0, 1]);
  if (exists.code !== 0) await git(top, ["update-ref", ref, ws.base.base_commit as string, ""]);
  // Another process may move the branch between our look and our update (a second server, a user's commit):
  // then the merge is worked out again on top of where it is now.
  for (let round = 1; ; round++) {
    const target = await gitOut(top, ["rev-parse", `${ref}^{commit}`]);
    const merged = await git(
      top,
      ["merge-tree", "--write-tree", "--name-only", "--no-messages", target, commit],
      [0, 1],
    );
    const [tree, ...conflicted] = merged.stdout.split("\n").filter(Boolean);
    if (merged.code === 1) return { status: "conflict", files: conflicted, target: targetName };
    const forward = await git(top, ["merge-base", "--is-ancestor", target, commit], [0, 1]);
    const next =
      forward.code === 0
        ? commit
        : await gitOut(top, [
            "commit-tree",
            tree as string,
            "-p",
            target,
            "-p",
            commit,
            "-m",
            `Merge ${o.label}`,
          ]);
    const moved = checkedOut
      ? await git(top, ["merge", "--ff-only", "--quiet", next], [0, 1, 128])
      : await git(top, ["update-ref", ref, next, target], [0, 1, 128]);
    if (moved.code === 0) return { status: "merged", commit: next, target: targetName };
    const now = await gitOut(top, ["rev-parse", `${ref}^{commit}`]);
    if (now === target || round >= 5)
      return { status: "refused", detail: `git refused to update ${targetName}: ${moved.stderr.trim()}` };
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
