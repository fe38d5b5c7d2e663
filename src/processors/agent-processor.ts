import { join, relative } from "node:path";
import { runAgentTask, type TaskResult } from "../agent/agent-loop.js";
import type { OllamaClient } from "../agent/ollama-client.js";
import { type RunConfig, type RunConfigInput, resolveRunConfig } from "../agent/run-config.js";
import { type FailureReason, failureOfError } from "../domain/failure.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { sumUsage, type UsageByModel } from "../domain/model-usage.js";
import { errorMessage } from "../errors.js";
import type { Processor } from "../queue/processor.js";
import { CACHE_OPTION_NAMES } from "../queue/result-cache.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { JobWorkspaces } from "../workspace/job-workspaces.js";
import { checkCommandOption } from "./command-check.js";
import { unknownModelIssues } from "./model-check.js";
import { requireProgram } from "./program-preflight.js";
import {
  baseContentOf,
  type IsolationSettings,
  isolationOptionIssues,
  isolationSettings,
  jobWorkspaces,
  runIsolated,
  tryConfig,
} from "./task-isolation.js";

interface AgentSession {
  config: RunConfig;
  workspace: string;
  isolation: IsolationSettings;
  /** The job's task workspaces (null: `shared`, every task in the project itself). */
  workspaces: JobWorkspaces | null;
  /** What the tasks start from, for the result cache (asked once, on the first cached task). */
  baseContent?: Promise<string>;
}

export interface AgentPlaces {
  /** Where tasks get workspaces of their own. */
  workspacesDir: string;
  /** Where `apply: patch` writes patch files. */
  patchesDir: string;
}

/**
 * Why a task that ran failed: its work could not be merged back (`conflict`), its agent never ran a loop (it
 * threw: what it threw says, e.g. `not_found` for a missing model, else `error`), or it did not pass its check or review within max_loops (`check`).
 */
function taskFailure(r: TaskResult, extra: JsonObject, thrown: FailureReason | null): FailureReason {
  const apply = extra.apply as JsonObject | undefined;
  if (apply?.status === "conflict" || apply?.status === "refused") return "conflict";
  if (r.loops === 0 && r.check === null) return thrown ?? "error";
  return "check";
}

function fields(r: TaskResult): JsonObject {
  const { status: _s, error: _e, ...rest } = r;
  return rest as unknown as JsonObject;
}

/**
 * `batch_agent_tasks`: each task through the coder/reviewer loop. The models are checked once per job before
 * any task runs (a missing model fails the job at once, with the `ollama pull` that fixes it).
 */
export function agentProcessor(sandbox: Sandbox, client: OllamaClient, places: AgentPlaces): Processor {
  return {
    validateOptions: (options) => [
      ...checkCommandOption(options, "check_command"),
      ...isolationOptionIssues(options),
    ],
    checkSubmit: (options) => unknownModelIssues(client, options),
    async prepareJob(job, signal): Promise<AgentSession> {
      const config = resolveRunConfig(job.options as RunConfigInput);
      const models = [config.coderModel, ...(config.reviewerModel ? [config.reviewerModel] : [])];
      await client.ensureModels(models, signal);
      const workspace = sandbox.workspace(config.workspace);
      await requireProgram(sandbox, "check_command", config.checkCommand, { cwd: workspace, signal });
      const isolation = isolationSettings(job.options);
      const workspaces = await jobWorkspaces(workspace, places.workspacesDir, job.id, isolation);
      await job.recordMetadata({ ...workspaces.base });
      return {
        config,
        workspace,
        isolation,
        workspaces: workspaces.isolation === "shared" ? null : workspaces,
      };
    },
    async disposeJob(_job, session): Promise<void> {
      const s = session as AgentSession | undefined;
      if (!s?.workspaces) return;
      await s.workspaces.dispose();
    },
    // The task (without its id), every option that steers the run, and the base its workspace starts from. A
    // task in `shared` isolation works in the project as it is now: not cached.
    async cacheKey(item, ctx) {
      const session = ctx.session as AgentSession;
      if (session.workspaces === null) return null;
      session.baseContent ??= baseContentOf(session.workspaces);
      const { id: _id, ...task } = item;
      const options = Object.fromEntries(
        Object.entries(ctx.job.options).filter(([k]) => !CACHE_OPTION_NAMES.includes(k)),
      ) as JsonObject;
      return { task, options, base: await session.baseContent };
    },
    async processItem(item, ctx): Promise<ItemResult> {
      const session = ctx.session as AgentSession;
      const { config, workspace } = session;
      const timeout = config.timeoutMs === null ? null : AbortSignal.timeout(config.timeoutMs);
      const signal = timeout ? AbortSignal.any([ctx.signal, timeout]) : ctx.signal;
      const description = String(item.description);
      // The task's own directory, beneath the job's workspace (or beneath the task's own copy of it).
      const sub = typeof item.workspace === "string" ? item.workspace : null;
      // The task's model usage (each try's with isolation), kept here so a task cut off still reports it.
      const tryUsage: UsageByModel[] = [];
      try {
        let r: TaskResult;
        let extra: JsonObject = {};
        let thrown: FailureReason | null = null;
        if (session.workspaces === null) {
          const usage: UsageByModel = {};
          tryUsage.push(usage);
          const root =
            sub === null
              ? workspace
              : sandbox.workspace(relative(sandbox.root, join(workspace, sub)), { mustExist: true });
          r = await runAgentTask(description, config, { client, sandbox, workspace: root, signal, usage });
        } else {
          // In a workspace of its own, the task's changes stay there until merged: nothing to put back.
          const own = { ...config, applyChanges: true };
          const out = await runIsolated(session.workspaces, {
            sandbox,
            jobId: ctx.job.id,
            taskId: typeof item.id === "string" ? item.id : `task-${ctx.seq}`,
            description,
            settings: session.isolation,
            attempts: Number(ctx.job.options.attempts ?? 1),
            dependsOn: Array.isArray(item.depends_on) ? item.depends_on.map(String) : [],
            temperature: config.modelOptions.temperature,
            signal,
            patchesDir: places.patchesDir,
            diffCapBytes: config.diffCapBytes,
            tryUsage,
            run: (taskSandbox, root, v, usage) =>
              runAgentTask(description, tryConfig(own, v), {
                client,
                sandbox: taskSandbox,
                workspace: sub === null ? root : taskSandbox.workspace(sub, { mustExist: true }),
                signal: v.signal,
                usage,
              }),
          });
          r = out.result;
          extra = out.fields;
          thrown = out.failure;
        }
        const all = { ...fields(r), ...extra };
        if (r.status === "completed") return { status: "succeeded", error: r.error, fields: all };
        return { status: "failed", failure: taskFailure(r, extra, thrown), error: r.error, fields: all };
      } catch (e: unknown) {
        if (ctx.signal.aborted) throw e;
        const fields = { usage: sumUsage(tryUsage) };
        if (timeout?.aborted)
          return {
            status: "failed",
            failure: "timeout",
            error: `task timed out after ${config.timeoutMs! / 1000} s`,
            fields,
          };
        return { status: "failed", failure: failureOfError(e), error: errorMessage(e), fields };
      }
    },
  };
}
