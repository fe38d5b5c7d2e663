import { runAgentTask, type TaskResult } from "../agent/agent-loop.js";
import type { OllamaClient } from "../agent/ollama-client.js";
import { type RunConfig, type RunConfigInput, resolveRunConfig } from "../agent/run-config.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { errorMessage } from "../errors.js";
import type { Processor } from "../queue/processor.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { checkCommandOption } from "./command-check.js";

interface AgentSession {
  config: RunConfig;
  workspace: string;
}

function fields(r: TaskResult): JsonObject {
  const { status: _s, error: _e, ...rest } = r;
  return rest as unknown as JsonObject;
}

/**
 * `batch_agent_tasks`: each task through the coder/reviewer loop. The models are checked once per job before
 * any task runs (a missing model fails the job at once, with the `ollama pull` that fixes it).
 */
export function agentProcessor(sandbox: Sandbox, client: OllamaClient): Processor {
  return {
    validateOptions: (options) => checkCommandOption(options, "check_command"),
    async prepareJob(job, signal): Promise<AgentSession> {
      const config = resolveRunConfig(job.options as RunConfigInput);
      const models = [config.coderModel, ...(config.reviewerModel ? [config.reviewerModel] : [])];
      await client.ensureModels(models, signal);
      return { config, workspace: sandbox.workspace(config.workspace) };
    },
    async processItem(item, ctx): Promise<ItemResult> {
      const { config, workspace } = ctx.session as AgentSession;
      const timeout = config.timeoutMs === null ? null : AbortSignal.timeout(config.timeoutMs);
      const signal = timeout ? AbortSignal.any([ctx.signal, timeout]) : ctx.signal;
      try {
        const r = await runAgentTask(String(item.description), config, {
          client,
          sandbox,
          workspace,
          signal,
        });
        return {
          status: r.status === "completed" ? "succeeded" : "failed",
          label: r.status,
          error: r.error,
          fields: fields(r),
        };
      } catch (e: unknown) {
        if (ctx.signal.aborted) throw e;
        if (timeout?.aborted)
          return { status: "failed", error: `task timed out after ${config.timeoutMs! / 1000} s` };
        return { status: "failed", error: errorMessage(e) };
      }
    },
  };
}
