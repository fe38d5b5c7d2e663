import { MALFORMED_CALL_PREFIX } from "../agent/prompts.js";
import type { ApiClient } from "../cli/api-client.js";
import type { JsonObject } from "../domain/json.js";
import { sumUsage } from "../domain/model-usage.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";

/** The agent job's settings (the run's flags). */
export interface AgentJobSettings {
  coderModel: string;
  reviewerModel: string | null;
  maxLoops: number;
  /** Per task attempt. */
  timeoutSeconds: number;
  /** Attempts run at once. */
  parallel: number;
}

/** One task attempt as the job left it. */
export interface AgentItem {
  id: string;
  status: string;
  result: JsonObject | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
}

/** The check the agent sees: the task directory's tests (the visible ones and any it writes). */
export const EVAL_CHECK = "python3 -m pytest -q -p no:cacheprovider";

/** An attempt's item id: `<task>#<attempt>`. */
export const attemptId = (task: string, attempt: number) => `${task}#${attempt}`;

/**
 * Submits every task attempt as one `batch_agent_tasks` job (each in a worktree of its own, in its task's
 * directory, nothing merged back), waits for it to end, and returns its id and items. A model the server's
 * Ollama lacks is the API's 422, thrown as it is.
 */
export async function runAgentJob(
  api: ApiClient,
  attempts: { id: string; description: string; workspace: string }[],
  s: AgentJobSettings,
): Promise<{ jobId: string; items: AgentItem[] }> {
  const job = await api.request<{ job_id: string }>("POST", "/batch/agent-tasks", {
    tasks: attempts,
    coder_model: s.coderModel,
    reviewer_model: s.reviewerModel,
    max_loops: s.maxLoops,
    timeout_seconds: s.timeoutSeconds,
    check_command: EVAL_CHECK,
    isolation: "worktree",
    apply: "none",
    parallel: s.parallel,
  });
  const path = `/batch/jobs/${encodeURIComponent(job.job_id)}`;
  for await (const { event } of api.events(`${path}/events`))
    if ((FINAL_JOB_STATUSES as readonly string[]).includes(event)) break;
  const items: AgentItem[] = [];
  for (;;) {
    const page = await api.request<{ items: AgentItem[]; total: number }>(
      "GET",
      `${path}/items?limit=100&offset=${items.length}`,
    );
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) break;
  }
  return { jobId: job.job_id, items };
}

/** What an attempt cost, from its item result: loops, calls, tokens. */
export function attemptMetrics(result: JsonObject | null) {
  const usage = sumUsage([result?.usage ?? {}]);
  const totals = Object.values(usage);
  const transcript = Array.isArray(result?.transcript) ? (result.transcript as JsonObject[]) : [];
  const toolCalls = transcript
    .filter((e) => e.role === "assistant" && Array.isArray(e.tool_calls))
    .reduce((n, e) => n + (e.tool_calls as unknown[]).length, 0);
  const malformed = transcript.filter(
    (e) => e.role === "user" && typeof e.content === "string" && e.content.startsWith(MALFORMED_CALL_PREFIX),
  ).length;
  return {
    loops: typeof result?.loops === "number" ? result.loops : 0,
    model_calls: totals.reduce((n, u) => n + u.calls, 0),
    tool_calls: toolCalls,
    malformed_tool_calls: malformed,
    tokens_in: totals.reduce((n, u) => n + u.prompt_tokens, 0),
    tokens_out: totals.reduce((n, u) => n + u.completion_tokens, 0),
    diff: typeof result?.diff === "string" ? result.diff : "",
  };
}
