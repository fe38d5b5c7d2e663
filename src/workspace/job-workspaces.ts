import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CoderError } from "../errors.js";
import { dependenciesCommit, recordTaskCommit } from "./dependency-base.js";
import { git, gitOut } from "./git.js";
import { DEFAULT_LINK_PATHS, type Isolation } from "./isolation.js";
import { mountOverlay, overlayUsable } from "./overlay.js";
import { branchPart, dirPart, findRepo, type ProjectRepo } from "./project-repo.js";
import { oneAtATime } from "./repo-lock.js";
import { snapshotRepo } from "./snapshot.js";
import { removeWorktree, TaskWorkspace } from "./task-workspace.js";
import { addWorktreeRecord, commonGitDir, worktreeId } from "./worktree-record.js";

export interface JobWorkspacesOptions {
  /** The project the tasks change. */
  projectRoot: string;
  /** Where workspaces live: outside the project, where neither another task nor an editor looks. */
  workspacesDir: string;
  jobId: string;
  /** Default: `worktree` inside a git repository with a commit, else `copy`. */
  isolation?: Isolation | undefined;
  /** More project paths to share read-only with each task, besides node_modules, .venv and venv. */
  linkPaths?: readonly string[] | undefined;
  /**
   * How a task's files are laid out: an overlay over one checkout of the base per job (default where overlay
   * mounts can be made: root on Linux), or a checkout of its own.
   */
  layout?: "overlay" | "checkout" | undefined;
}

/** What the job records about where its tasks start from. */
export interface JobBase {
  isolation: Isolation;
  /** The commit every task starts from (in the project's repository, or the job's snapshot of it). */
  base_commit?: string;
  /** For `copy`: when the snapshot was taken (epoch seconds). */
  snapshot_at?: number;
}

/**
 * The workspaces of one job's tasks, under `<workspacesDir>/<job id>/`: each task a git worktree on a branch
 * `ollama-coder/<job id>/<task id>` of the project's repository (`worktree`), or of a repository of the
 * job's own holding a snapshot of the project (`copy`). The base is kept on disk with them, so that a process
 * that takes the job over after a crash starts its tasks from the same place.
 */
export class JobWorkspaces {
  private constructor(
    readonly isolation: Isolation,
    readonly projectRoot: string,
    /** The job's directory of workspaces. */
    readonly dir: string,
    /** The repository the worktrees belong to (the project's or the snapshot's), null for `shared`. */
    readonly repo: ProjectRepo | null,
    readonly base: JobBase,
    readonly jobId: string,
    private readonly links: readonly string[],
    readonly layout: "overlay" | "checkout" = "checkout",
  ) {}

  /** The job's one checkout of its base, below every task's overlay (made on first use). */
  private baseTree: Promise<{ path: string; index: string }> | null = null;

  static async prepare(o: JobWorkspacesOptions): Promise<JobWorkspaces> {
    const links = [...DEFAULT_LINK_PATHS, ...(o.linkPaths ?? [])];
    const dir = join(o.workspacesDir, dirPart(o.jobId));
    const project = o.isolation === "shared" ? null : await findRepo(o.projectRoot);
    const isolation: Isolation = o.isolation ?? (project?.head && project.tracked ? "worktree" : "copy");
    if (isolation === "shared")
      return new JobWorkspaces("shared", o.projectRoot, dir, null, { isolation }, o.jobId, links);
    mkdirSync(dir, { recursive: true });
    if (isolation === "worktree") {
      if (!project?.head || !project.tracked)
        throw new CoderError(
          "invalid_input",
          !project
            ? `isolation 'worktree': ${o.projectRoot} is not inside a git repository (use isolation 'copy')`
            : !project.head
              ? `isolation 'worktree': the repository at ${project.top} has no commit yet (commit once, or use isolation 'copy')`
              : `isolation 'worktree': ${o.projectRoot} has no files in the commit of the repository at ${project.top} (is it ignored there?); use isolation 'copy'`,
        );
      const base = recordedBase(dir) ?? remember(dir, project.head);
      return new JobWorkspaces(
        "worktree",
        o.projectRoot,
        dir,
        project,
        { isolation, base_commit: base },
        o.jobId,
        links,
        layoutOf(o),
      );
    }
    const snap = await snapshotRepo(o.projectRoot, join(dir, "snapshot"), links);
    return new JobWorkspaces(
      "copy",
      o.projectRoot,
      dir,
      snap.repo,
      { isolation, base_commit: snap.commit, snapshot_at: snap.takenAt },
      o.jobId,
      links,
      layoutOf(o),
    );
  }

  /** The branch of a task's changes. */

  branchOf(taskId: string): string {
    return `ollama-coder/${branchPart(this.jobId)}/${branchPart(taskId)}`;
  }

  /**
   * Where a task that depends on others starts (see dependency-base.ts): with `merged` (worktree isolation,
   * `apply: merge`) the project's state now, its dependencies merged into `merged.ref` (null: HEAD); else
   * their own commits, merged when several. Null for `shared` (the project itself has them).
   */
  async dependenciesBase(
    deps: readonly string[],
    merged: { ref: string | null } | null,
  ): Promise<string | null> {
    if (this.repo === null || deps.length === 0) return null;
    if (merged && this.isolation === "worktree") {
      // A target branch not made yet (the first merge makes it from the base) holds nothing merged.
      const ref = `${merged.ref ?? "HEAD"}^{commit}`;
      const r = await git(this.repo.top, ["rev-parse", "--verify", "--quiet", ref], [0, 1]);
      return r.code === 0 ? r.stdout.trim() : (this.base.base_commit as string);
    }
    const named = deps.map((id) => ({ id, name: dirPart(id) }));
    return dependenciesCommit(this.repo.top, this.dir, this.base.base_commit as string, named);
  }

  /** Keeps the commit a task ended on, for the tasks that depend on it. */
  recordEnd(taskId: string, commit: string | null): void {
    if (this.repo !== null && commit !== null) recordTaskCommit(this.dir, dirPart(taskId), commit);
  }

  /**
   * A fresh workspace for a task, from the job's base (or `from`, a commit of a task that depends on others):
   * a worktree left by an earlier run of the same task (a crash) is removed first, and the task's branch starts
   * again from there.
   */
  async open(taskId: string, from: string | null = null): Promise<TaskWorkspace> {
    if (this.repo === null) return TaskWorkspace.shared(this.projectRoot);
    const name = dirPart(taskId);
    const path = join(this.dir, "tasks", name);
    // An earlier run of the task left it (a crash): its files go, and its record is replaced below.
    await this.removeWorktree(name);
    mkdirSync(join(this.dir, "tasks"), { recursive: true });
    const branch = this.branchOf(taskId);
    const base = from ?? (this.base.base_commit as string);
    // The overlay's lower layer is the job's base: a task starting elsewhere has a checkout of its own.
    const lower = this.layout === "overlay" && base === this.base.base_commit ? await this.lowerTree() : null;
    // Registered without git's one-at-a-time bookkeeping (see worktree-record.ts): tasks open at once.
    const admin = await addWorktreeRecord({
      commonDir: await this.commonDir(),
      id: worktreeId(this.jobId, name),
      path,
      branch,
      base,
    });
    const overlay = lower ? join(this.dir, "overlay", name) : null;
    if (lower && overlay) {
      // The worktree's own .git file and index, over the base's files: git sees a checkout of the base.
      for (const d of ["upper", "work"]) mkdirSync(join(overlay, d), { recursive: true });
      await mountOverlay(lower.path, join(overlay, "upper"), join(overlay, "work"), path);
      writeFileSync(join(path, ".git"), `gitdir: ${admin}\n`);
      copyFileSync(lower.index, join(admin, "index"));
    } else await git(path, [`--git-dir=${admin}`, `--work-tree=${path}`, "reset", "--hard", "--quiet"]);
    const root = join(path, this.repo.prefix);
    mkdirSync(root, { recursive: true });
    return new TaskWorkspace({
      root,
      worktree: path,
      branch,
      base,
      linked: this.linkInto(root),
      excluded: this.links.map((l) => join(this.repo?.prefix ?? "", l)),
      overlay,
      gitDir: admin,
    });
  }

  private lowerTree(): Promise<{ path: string; index: string }> {
    this.baseTree ??= (async () => {
      const top = this.repo?.top as string;
      const path = join(this.dir, "base-tree");
      if (!existsSync(join(path, ".git"))) {
        rmSync(path, { recursive: true, force: true });
        // git's bookkeeping one at a time (two adds at once may each read the other's half-made record); the
        // files, the slow part, in parallel.
        await oneAtATime(top, "worktrees", () =>
          git(top, [
            "worktree",
            "add",
            "--force",
            "--quiet",
            "--detach",
            path,
            this.base.base_commit as string,
          ]),
        );
      }
      return { path, index: join(await gitOut(path, ["rev-parse", "--absolute-git-dir"]), "index") };
    })();
    return this.baseTree;
  }

  /**
   * Shares the project's dependency directories with a task (node_modules, .venv, …), those that git does
   * not carry: a link in the workspace to the project's directory, which the jail lets commands read and not
   * write. Returns the project paths shared.
   */
  private linkInto(root: string): string[] {
    const shared: string[] = [];
    for (const rel of this.links) {
      const source = join(this.projectRoot, rel);
      const target = join(root, rel);
      if (!existsSync(source) || lstatSync(target, { throwIfNoEntry: false })) continue;
      mkdirSync(join(target, ".."), { recursive: true });
      // An absolute link: it reads the same inside the jail, which lets commands read the project's path.
      symlinkSync(source, target);
      shared.push(source);
    }
    return shared;
  }

  /** Removes a task's worktree and git's record of it, if there are any (its branch stays). */
  private async removeWorktree(name: string): Promise<void> {
    const path = join(this.dir, "tasks", name);
    const overlay = join(this.dir, "overlay", name);
    const admin = join(await this.commonDir(), "worktrees", worktreeId(this.jobId, name));
    if (!existsSync(path) && !existsSync(overlay) && !existsSync(admin)) return;
    await removeWorktree(path, overlay, admin);
  }

  /** The repository's common git directory (asked once per job). */
  private commonDir(): Promise<string> {
    this.gitCommonDir ??= commonGitDir(this.repo?.top as string);
    return this.gitCommonDir;
  }

  private gitCommonDir: Promise<string> | null = null;

  private prune(): Promise<unknown> {
    const top = this.repo?.top as string;
    return oneAtATime(top, "worktrees", () => git(top, ["worktree", "prune"]));
  }

  /** Removes every worktree of the job (branches stay) and the job's directory. */
  async dispose(): Promise<void> {
    if (this.repo === null) return;
    const tasks = join(this.dir, "tasks");
    for (const name of existsSync(tasks) ? readdirSync(tasks) : []) await this.removeWorktree(name);
    // The base stays (a process that takes the job up again starts from it), and so does a copy's snapshot
    // repository: the tasks' branches live in it.
    rmSync(tasks, { recursive: true, force: true });
    rmSync(join(this.dir, "overlay"), { recursive: true, force: true });
    if (this.baseTree) {
      this.baseTree = null;
      await removeWorktree(join(this.dir, "base-tree"), null, null);
    }
    await this.prune();
    // What every commit and merge of the job left out (see git.ts): git packs its loose objects if it is time.
    const top = this.repo.top;
    await oneAtATime(top, "worktrees", () => git(top, ["gc", "--auto", "--quiet"]));
  }
}

function layoutOf(o: JobWorkspacesOptions): "overlay" | "checkout" {
  if (o.layout) return o.layout === "overlay" && !overlayUsable() ? "checkout" : o.layout;
  return overlayUsable() ? "overlay" : "checkout";
}

/** The base recorded by an earlier process for this job, if any. */
function recordedBase(dir: string): string | null {
  const file = join(dir, "base-commit");
  return existsSync(file) ? readFileSync(file, "utf8").trim() || null : null;
}

function remember(dir: string, commit: string): string {
  writeFileSync(join(dir, "base-commit"), `${commit}\n`);
  return commit;
}
