import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { TaskResult } from "../agent/agent-loop.js";
import { capDiff } from "../agent/agent-tools.js";
import type { JsonObject } from "../domain/json.js";
import { CoderError } from "../errors.js";
import { isInside } from "../sandbox/path-sandbox.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { ApplyMode, Isolation } from "../workspace/isolation.js";
import { JobWorkspaces } from "../workspace/job-workspaces.js";
import { type MergeOutcome, mergeTask, type ProjectFiles, taskPatch } from "../workspace/merge-back.js";
import { branchPart } from "../workspace/project-repo.js";

/** How a job's tasks are isolated and what becomes of their changes, from its options. */
export interface IsolationSettings {
  /** Unset: `worktree` in a git repository with a commit, else `copy`. */
  isolation: Isolation | undefined;
  apply: ApplyMode;
  targetBranch: string | null;
  linkPaths: string[];
}

export function isolationSettings(options: JsonObject): IsolationSettings {
  const apply =
    (options.apply as ApplyMode | undefined) ?? (options.apply_changes === false ? "none" : "merge");
  return {
    isolation: options.isolation as Isolation | undefined,
    apply,
    targetBranch: (options.target_branch as string | undefined) ?? null,
    linkPaths: (options.link_paths as string[] | undefined) ?? [],
  };
}

/** The job's workspaces, refused where they would sit inside the project (a task or an editor would see them). */
export async function jobWorkspaces(
  projectRoot: string,
  workspacesDir: string,
  jobId: string,
  s: IsolationSettings,
): Promise<JobWorkspaces> {
  if (s.isolation !== "shared" && isInside(projectRoot, workspacesDir))
    throw new CoderError(
      "config",
      `the workspaces directory ${workspacesDir} is inside the project root ${projectRoot}: give the server a --workspaces-dir (or --data-dir) outside it, or use isolation 'shared'`,
    );
  return JobWorkspaces.prepare({
    projectRoot,
    workspacesDir,
    jobId,
    isolation: s.isolation,
    linkPaths: s.linkPaths,
  });
}

/** The project's files as a merge into a project without git writes them: through the sandbox, beneath the root. */
export function projectFiles(sandbox: Sandbox, projectRoot: string): ProjectFiles {
  const rel = (p: string) => relative(sandbox.root, join(projectRoot, p));
  return {
    read: async (p) => {
      try {
        return (await sandbox.files.read(rel(p))).content;
      } catch (e: unknown) {
        if ((e as { code?: string }).code === "not_found" || (e as { code?: string }).code === "ENOENT")
          return null;
        throw e;
      }
    },
    write: async (p, content) => {
      await sandbox.files.write(rel(p), content);
    },
    remove: async (p) => sandbox.files.remove(rel(p)),
  };
}

export interface IsolatedRun {
  sandbox: Sandbox;
  jobId: string;
  taskId: string;
  description: string;
  settings: IsolationSettings;
  /** Where patch files go (`apply: patch`). */
  patchesDir: string;
  diffCapBytes: number;
  /** Runs the agent in the task's workspace, through the sandbox around it. */
  run(sandbox: Sandbox, workspace: string): Promise<TaskResult>;
}

/** What isolation adds to a task's result, and the status it ends with. */
export interface IsolatedOutcome {
  result: TaskResult;
  fields: JsonObject;
}

/**
 * One task in a workspace of its own: opened from the job's base, the agent run there, its changes committed
 * on its branch (the evidence, whatever the outcome), merged back (or written as a patch) if it succeeded, and
 * the workspace removed. A merge that conflicts or is refused fails the task and changes nothing.
 */
export async function runIsolated(ws: JobWorkspaces, r: IsolatedRun): Promise<IsolatedOutcome> {
  const task = await ws.open(r.taskId);
  try {
    const result = await r.run(r.sandbox.rootedAt(task.root, task.linked), task.root);
    const changes = await task.commit(r.description);
    const fields: JsonObject = {
      isolation: ws.isolation,
      base_commit: task.base,
      branch: task.branch,
      commit: changes.commit,
    };
    result.files_changed = changes.files;
    result.diff = capDiff(changes.diff, r.diffCapBytes);
    let apply: MergeOutcome | { status: "none" | "patch" | "skipped"; path?: string; detail?: string };
    if (result.status !== "completed") apply = { status: "skipped", detail: "the task did not succeed" };
    else if (changes.commit === null) apply = { status: "skipped", detail: "the task changed nothing" };
    else if (r.settings.apply === "none") apply = { status: "none" };
    else if (r.settings.apply === "patch") {
      const dir = join(r.patchesDir, branchPart(r.jobId).replace(/\//g, "_"));
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${branchPart(r.taskId).replace(/\//g, "_")}.patch`);
      writeFileSync(path, await taskPatch(ws, changes.commit));
      apply = { status: "patch", path };
    } else {
      apply = await mergeTask(ws, changes.commit, {
        targetBranch: r.settings.targetBranch,
        files: projectFiles(r.sandbox, ws.projectRoot),
        label: task.branch ?? r.taskId,
      });
      if (apply.status !== "merged") {
        result.status = "failed";
        result.error =
          apply.status === "conflict"
            ? `merge conflict in ${(apply.files ?? []).join(", ")}: nothing was merged; the task's changes are kept on branch ${task.branch} (retry the task to run it again on top of what was merged)`
            : `not merged: ${apply.detail}; the task's changes are kept on branch ${task.branch}`;
      }
    }
    fields.apply = apply as unknown as JsonObject;
    return { result, fields };
  } finally {
    await task.remove();
  }
}
