import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { TaskResult } from "../agent/agent-loop.js";
import { capDiff } from "../agent/agent-tools.js";
import type { RunConfig } from "../agent/run-config.js";
import { type FailureReason, failureOfError } from "../domain/failure.js";
import type { JsonObject } from "../domain/json.js";
import { addUsage, sumUsage, type UsageByModel } from "../domain/model-usage.js";
import { CoderError, errorMessage, type FieldIssue, NotFoundError } from "../errors.js";
import { isInside } from "../sandbox/path-sandbox.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { gitOut } from "../workspace/git.js";
import type { ApplyMode, Isolation } from "../workspace/isolation.js";
import { JobWorkspaces } from "../workspace/job-workspaces.js";
import { type MergeOutcome, mergeTask, type ProjectFiles, taskPatch } from "../workspace/merge-back.js";
import { dirPart } from "../workspace/project-repo.js";
import { removeJobWorkspaces } from "../workspace/prune.js";
import type { TaskChanges } from "../workspace/task-workspace.js";

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

/** What git refuses as a branch name (git check-ref-format), beyond the schema's characters. */
const BAD_REF = /\.\.|@\{|\/\/|\/\.|\.lock(\/|$)|[./]$/;

/** Option combinations that cannot work, as 422 entries at submit time. */
export function isolationOptionIssues(options: JsonObject): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const target = options.target_branch;
  if (typeof target === "string") {
    if (BAD_REF.test(target))
      issues.push({
        loc: ["target_branch"],
        msg: `'${target}' is not a branch name git accepts`,
        type: "value_error",
      });
    if (options.isolation === "copy" || options.isolation === "shared")
      issues.push({
        loc: ["target_branch"],
        msg: `target_branch needs isolation 'worktree' (a project in git); with '${options.isolation}' there is no branch to merge into`,
        type: "value_error",
      });
    if (options.apply === "none" || options.apply === "patch" || options.apply_changes === false)
      issues.push({
        loc: ["target_branch"],
        msg: "target_branch is only used by apply 'merge'",
        type: "value_error",
      });
  }
  const attempts = Number(options.attempts ?? 1);
  if (attempts > 1 && options.isolation === "shared")
    issues.push({
      loc: ["attempts"],
      msg: "several attempts need workspaces of their own: use isolation 'worktree' or 'copy'",
      type: "value_error",
    });
  return issues;
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
  const ws = await JobWorkspaces.prepare({
    projectRoot,
    workspacesDir,
    jobId,
    isolation: s.isolation,
    linkPaths: s.linkPaths,
  });
  if (s.targetBranch !== null && ws.isolation !== "worktree")
    throw new CoderError(
      "invalid_input",
      `target_branch needs a project in git (isolation 'worktree'); ${projectRoot} gets isolation '${ws.isolation}'`,
    );
  return ws;
}

/** The project's files as a merge into a project without git writes them: through the sandbox, beneath the root. */
export function projectFiles(sandbox: Sandbox, projectRoot: string): ProjectFiles {
  const rel = (p: string) => relative(sandbox.root, join(projectRoot, p));
  return {
    read: async (p) => {
      try {
        return (await sandbox.files.read(rel(p))).content;
      } catch (e: unknown) {
        if (e instanceof NotFoundError) return null;
        throw e;
      }
    },
    write: async (p, content) => {
      await sandbox.files.write(rel(p), content);
    },
    remove: async (p) => sandbox.files.remove(rel(p)),
  };
}

/** A try's run settings: the job's, with the try's temperature and seed. */
export function tryConfig(config: RunConfig, v: TryVariant): RunConfig {
  if (v.temperature === undefined) return config;
  return { ...config, modelOptions: { ...config.modelOptions, temperature: v.temperature, seed: v.seed } };
}

/** One try of a task: which, and its own stop signal (a try is stopped once another has won). */
export interface TryVariant {
  /** 1, 2, …: the first try runs with the job's settings, later ones with a varied temperature and seed. */
  index: number;
  temperature?: number;
  seed?: number;
  signal: AbortSignal;
}

export interface IsolatedRun {
  sandbox: Sandbox;
  jobId: string;
  taskId: string;
  description: string;
  settings: IsolationSettings;
  /** Tries run at once, each in its own workspace (1: one try). */
  attempts: number;
  /** The tasks of the job it depends on (`depends_on`): it starts from their changes. */
  dependsOn?: readonly string[];
  /** The job's temperature (the tries vary around it). */
  temperature: number | undefined;
  signal: AbortSignal;
  /** Where patch files go (`apply: patch`). */
  patchesDir: string;
  diffCapBytes: number;
  /** Runs the agent in the try's workspace, through the sandbox around it, its model usage added to `usage`. */
  run(sandbox: Sandbox, workspace: string, variant: TryVariant, usage: UsageByModel): Promise<TaskResult>;
  /** Gets each try's usage record as the try starts (the caller's: what tries cut off had used stays known). */
  tryUsage?: UsageByModel[];
}

/** What isolation adds to a task's result, and the status it ends with. */
export interface IsolatedOutcome {
  result: TaskResult;
  fields: JsonObject;
  /** Why the chosen try's agent threw (src/domain/failure.ts); null when it ran to a result. */
  failure: FailureReason | null;
}

interface TryOutcome {
  variant: Omit<TryVariant, "signal">;
  result: TaskResult | null;
  error: string | null;
  /** The reason of what its agent threw (null: it ran to a result). */
  failure: FailureReason | null;
  cancelled: boolean;
  branch: string | null;
  base: string | null;
  changes: TaskChanges;
  usage: UsageByModel;
}

/** The n-th try's settings: the job's own first, then warmer and reseeded (local models are cheap, not steady). */
function variant(index: number, temperature: number | undefined): Omit<TryVariant, "signal"> {
  if (index === 1) return { index };
  return { index, temperature: Math.min(1.5, (temperature ?? 0.8) + 0.15 * (index - 1)), seed: index };
}

/**
 * One try in its own workspace: opened from the base, the agent run, what it left committed. The workspace's
 * removal is under way when it returns (`removed`): it runs beside the merge rather than before it.
 */
async function runTry(
  ws: JobWorkspaces,
  r: IsolatedRun,
  v: TryVariant,
  taskId: string,
  from: string | null,
): Promise<TryOutcome & { removed: Promise<void> }> {
  const task = await ws.open(taskId, from);
  const usage: UsageByModel = {};
  r.tryUsage?.push(usage);
  let result: TaskResult | null = null;
  let error: string | null = null;
  let failure: FailureReason | null = null;
  let changes: TaskChanges;
  try {
    try {
      result = await r.run(r.sandbox.rootedAt(task.root, task.linked), task.root, v, usage);
      // A run that counted in a record of its own: its result's usage is the try's.
      if (result.usage !== usage) addUsage(usage, result.usage);
    } catch (e: unknown) {
      if (r.signal.aborted) throw e; // the task itself stops (cancel, shutdown): no outcome to keep
      error = errorMessage(e);
      failure = failureOfError(e);
    }
    changes = await task.commit(r.description, result?.files_changed ?? []);
  } catch (e: unknown) {
    await task.remove();
    throw e;
  }
  const { signal: _s, ...settings } = v;
  const removed = task.remove();
  // Awaited by the task (runIsolated); marked seen now, in case another try throws before it gets there.
  removed.catch(() => undefined);
  return {
    variant: settings,
    result,
    error,
    failure,
    cancelled: v.signal.aborted,
    branch: task.branch,
    base: task.base,
    changes,
    usage,
    removed,
  };
}

/**
 * A task in a workspace of its own: opened from the job's base, the agent run there, its changes committed on
 * its branch (the evidence, whatever the outcome), merged back (or written as a patch) if it succeeded, and the
 * workspace removed. A merge that conflicts or is refused fails the task and changes nothing. With `attempts`
 * above 1, that many tries run at once, each on a branch of its own (`…/<task>-try<n>`); the first that succeeds
 * is the task's result and the others are stopped at once (their branches stay).
 */
export async function runIsolated(ws: JobWorkspaces, r: IsolatedRun): Promise<IsolatedOutcome> {
  // A dependant starts from its dependencies' changes (merged into the project, or their commits).
  const from = await ws.dependenciesBase(
    r.dependsOn ?? [],
    r.settings.apply === "merge" ? { ref: r.settings.targetBranch } : null,
  );
  const stops = Array.from({ length: r.attempts }, () => new AbortController());
  let winner: TryOutcome | null = null;
  const tries = await Promise.all(
    stops.map(async (stop, i) => {
      const v = { ...variant(i + 1, r.temperature), signal: AbortSignal.any([r.signal, stop.signal]) };
      const out = await runTry(ws, r, v, r.attempts === 1 ? r.taskId : `${r.taskId}-try${i + 1}`, from);
      if (winner === null && out.result?.status === "completed") {
        winner = out;
        for (const other of stops) if (other !== stop) other.abort(new Error("another try succeeded first"));
      }
      return out;
    }),
  );
  const chosen: TryOutcome = winner ?? (tries[0] as TryOutcome);
  const result: TaskResult = chosen.result ?? failedTry(chosen.error ?? "the try ended without a result");
  const { changes } = chosen;
  if (result.status === "completed") ws.recordEnd(r.taskId, changes.commit ?? chosen.base);
  // Every try's model calls count toward what the task cost, a try stopped for another's success too.
  result.usage = sumUsage(tries.map((t) => t.usage));
  result.files_changed = changes.files;
  result.diff = capDiff(changes.diff, r.diffCapBytes);
  const fields: JsonObject = {
    isolation: ws.isolation,
    base_commit: chosen.base,
    branch: chosen.branch,
    commit: changes.commit,
  };
  if (r.attempts > 1)
    fields.tries = tries.map((t) => ({
      try: t.variant.index,
      ...(t.variant.temperature === undefined
        ? {}
        : { temperature: t.variant.temperature, seed: t.variant.seed }),
      loops: t.result?.loops ?? 0,
      outcome: t === chosen && winner ? "chosen" : t.cancelled ? "cancelled" : (t.result?.status ?? "failed"),
      branch: t.branch,
      usage: t.usage,
      ...(t.error ? { error: t.error } : {}),
    }));
  const applying = applyChanges(ws, r, result, changes, chosen.branch);
  // Both settle before the task ends (a removal that failed fails it, as before); neither waits for the other.
  const [apply] = await Promise.all([applying, Promise.all(tries.map((t) => t.removed))]);
  fields.apply = apply as unknown as JsonObject;
  return { result, fields, failure: chosen.result ? null : chosen.failure };
}

type ApplyOutcome = MergeOutcome | { status: "none" | "patch" | "skipped"; path?: string; detail?: string };

/** The chosen try's changes into the project (or a patch), if it succeeded; a failed merge fails the task. */
async function applyChanges(
  ws: JobWorkspaces,
  r: IsolatedRun,
  result: TaskResult,
  changes: TaskChanges,
  branch: string | null,
): Promise<ApplyOutcome> {
  if (result.status !== "completed") return { status: "skipped", detail: "the task did not succeed" };
  if (changes.commit === null) return { status: "skipped", detail: "the task changed nothing" };
  if (r.settings.apply === "none") return { status: "none" };
  if (r.settings.apply === "patch") {
    const dir = jobPatchesDir(r.patchesDir, r.jobId);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${dirPart(r.taskId)}.patch`);
    writeFileSync(path, await taskPatch(ws, changes.commit));
    return { status: "patch", path };
  }
  const apply = await mergeTask(ws, changes.commit, {
    targetBranch: r.settings.targetBranch,
    files: projectFiles(r.sandbox, ws.projectRoot),
    label: branch ?? r.taskId,
  });
  if (apply.status !== "merged") {
    result.status = "failed";
    result.error =
      apply.status === "conflict"
        ? `merge conflict in ${(apply.files ?? []).join(", ")}: nothing was merged; the task's changes are kept on branch ${branch} (retry the task to run it again on top of what was merged)`
        : `not merged: ${apply.detail}; the task's changes are kept on branch ${branch}`;
  }
  return apply;
}

/** A try that ended without a result of its own (its agent threw). */
function failedTry(error: string): TaskResult {
  return {
    status: "failed",
    validator_ok: false,
    approved: false,
    loops: 0,
    files_changed: [],
    diff: "",
    check: null,
    usage: {},
    transcript: [],
    error,
    review: null,
  };
}

/** Where a job's patch files go (`apply: patch`). */
const jobPatchesDir = (patchesDir: string, jobId: string) => join(patchesDir, dirPart(jobId));

/** Removes what the agent kept of a deleted job: its workspaces' directory and its patch files. */
export async function forgetJobFiles(
  places: { workspacesDir: string; patchesDir: string },
  jobId: string,
): Promise<void> {
  await removeJobWorkspaces(places.workspacesDir, jobId);
  rmSync(jobPatchesDir(places.patchesDir, jobId), { recursive: true, force: true });
}

/**
 * What every task of the job starts from, for the result cache: the base commit (`worktree`), or the tree of
 * the job's snapshot (`copy`: a new snapshot commit every job, the same tree while the files are the same).
 */
export async function baseContentOf(ws: JobWorkspaces): Promise<string> {
  const base = ws.base.base_commit as string;
  if (ws.isolation === "worktree" || ws.repo === null) return `commit:${base}`;
  return `tree:${await gitOut(ws.repo.top, ["rev-parse", `${base}^{tree}`])}`;
}
