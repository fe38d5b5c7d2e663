import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { git } from "./git.js";
import { excludePathspecs } from "./isolation.js";
import { unmount } from "./overlay.js";
import { removeWorktreeRecord } from "./worktree-record.js";

/** A task's changes against the job's base, once committed on its branch. */
export interface TaskChanges {
  /** The commit holding them on the task's branch (null: the task changed nothing). */
  commit: string | null;
  /** Files changed, relative to the repository. */
  files: string[];
  /** `git diff` of the base against the commit (text; binary files are named, not shown). */
  diff: string;
}

interface TaskWorkspaceParts {
  root: string;
  worktree: string | null;
  branch: string | null;
  base: string | null;
  linked: string[];
  excluded: string[];
  /** The overlay's own directory (its upper and work dirs), when the workspace is one. */
  overlay?: string | null;
  /** The worktree's git directory, as git made it (before the task could touch the worktree's .git file). */
  gitDir?: string | null;
}

/** Where one task works: its own worktree (or, `shared`, the project itself). */
export class TaskWorkspace {
  /** The task's project root: what its tools, its commands and its check see. */
  readonly root: string;
  /** The task's branch (null when shared). */
  readonly branch: string | null;
  /** The commit the task started from (null when shared). */
  readonly base: string | null;
  /** Project paths shared read-only with the task (its jail must let commands read them). */
  readonly linked: readonly string[];
  private readonly worktree: string | null;
  /** Paths (relative to the worktree) never committed: the links to the shared directories. */
  private readonly excluded: readonly string[];
  private readonly overlay: string | null;
  /** git's record of the worktree (removed with it). */
  private readonly gitDir: string | null;
  /**
   * The server's git in the task's worktree always names its git directory and work tree: the worktree's own
   * `.git` file is the task's to rewrite, and one pointing at a repository the task made would have the
   * server's unjailed git read that repository's config (core.fsmonitor runs a program).
   */
  private readonly pinned: string[];

  constructor(p: TaskWorkspaceParts) {
    this.root = p.root;
    this.branch = p.branch;
    this.base = p.base;
    this.linked = p.linked;
    this.worktree = p.worktree;
    this.excluded = p.excluded;
    this.overlay = p.overlay ?? null;
    this.gitDir = p.gitDir ?? null;
    this.pinned = p.gitDir && p.worktree ? [`--git-dir=${p.gitDir}`, `--work-tree=${p.worktree}`] : [];
  }

  static shared(projectRoot: string): TaskWorkspace {
    return new TaskWorkspace({
      root: projectRoot,
      worktree: null,
      branch: null,
      base: null,
      linked: [],
      excluded: [],
    });
  }

  /**
   * Commits whatever the task left in its workspace (files its tools wrote and files its commands made, but
   * the noise of caches, the shared links and what the project's .gitignore leaves out — except files in
   * `written`, the ones its tools wrote, relative to its root) on its branch, with `message` (the task's
   * description).
   */
  async commit(message: string, written: readonly string[] = []): Promise<TaskChanges> {
    const wt = this.worktree;
    if (wt === null || this.base === null) return { commit: null, files: [], diff: "" };
    // Over an overlay, files keep the base's times and sizes but not its inode numbers: compare what matters.
    const g = [...this.pinned, "-c", "core.checkStat=minimal", "-c", "core.trustctime=false"];
    // What the task's tools wrote is its work even where the project's .gitignore would leave it out: named
    // here, such a file makes git add everything else and answer 1 (then it is added with --force).
    const present = written
      .map((p) => join(this.root, p))
      .filter((p) => existsSync(p))
      .map((p) => relative(wt, p));
    const added = await git(
      wt,
      [...g, "add", "--all", "--", ".", ...excludePathspecs(this.excluded), ...present],
      [0, 1],
    );
    if (added.code === 1) await git(wt, [...g, "add", "--force", "--", ...present]);
    // Nothing staged: git commit says so with exit 1 (one process fewer than asking first).
    const made = await git(
      wt,
      [...g, "commit", "--quiet", "--no-verify", "-m", message.trim() || "ollama-coder task"],
      [0, 1],
    );
    if (made.code === 1) return { commit: null, files: [], diff: "" };
    // The commit, its files and its diff in one process: its parent is the base (the branch started there).
    return parseShow(
      (await git(wt, [...g, "show", "--no-color", "--format=%H", "-z", "--patch-with-raw", "HEAD"])).stdout,
    );
  }

  /** Removes the worktree; the branch stays (it is the task's evidence, and what merges). */
  async remove(): Promise<void> {
    if (this.worktree === null) return;
    await removeWorktree(this.worktree, this.overlay, this.gitDir);
  }
}

/**
 * Removes a worktree, its overlay's own files and git's record of it (`admin`, when it is one made by
 * worktree-record.ts; its branch stays). Records made by `git worktree add` go at the job's end
 * (`git worktree prune`).
 */
export async function removeWorktree(
  path: string,
  overlay: string | null,
  admin: string | null,
): Promise<void> {
  await unmount(path);
  await rm(path, { recursive: true, force: true });
  if (overlay) await rm(overlay, { recursive: true, force: true });
  if (admin) await removeWorktreeRecord(admin);
}

/**
 * `git show --format=%H -z --patch-with-raw` of a task's commit: its id, then a raw line per file
 * (`:modes ids STATUS\0path\0`, two paths for a rename or copy), an empty field, then the patch.
 */
export function parseShow(out: string): TaskChanges {
  const fields = out.split("\0");
  const commit = (fields[0] ?? "").trim();
  const files: string[] = [];
  let i = 1;
  for (;;) {
    const meta = (fields[i] ?? "").replace(/^\n/, "");
    if (!meta.startsWith(":")) break;
    const status = meta.split(" ").pop() ?? "";
    const paths = /^[RC]/.test(status) ? 2 : 1;
    files.push(fields[i + paths] as string);
    i += paths + 1;
  }
  if (fields[i] === "") i++;
  return { commit, files, diff: fields.slice(i).join("\0") };
}
