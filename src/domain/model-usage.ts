import { type Static, Type } from "typebox";
import { Value } from "typebox/value";

/** What one model cost a task, or a job: its calls, tokens in and out, and seconds (Ollama's own durations). */
export const ModelUsageSchema = Type.Object(
  {
    calls: Type.Integer({ minimum: 0 }),
    prompt_tokens: Type.Integer({ minimum: 0, description: "Ollama's prompt_eval_count, summed." }),
    completion_tokens: Type.Integer({ minimum: 0, description: "Ollama's eval_count, summed." }),
    seconds: Type.Number({
      minimum: 0,
      description: "Ollama's total_duration (the measured wall time where it gives none), summed.",
    }),
  },
  { title: "ModelUsage" },
);
export type ModelUsageTotals = Static<typeof ModelUsageSchema>;

/** Usage by model name (an object keyed by model, e.g. the coder's and the reviewer's apart). */
export const UsageByModelSchema = Type.Object(
  {},
  {
    additionalProperties: ModelUsageSchema,
    title: "UsageByModel",
    description: "Keyed by model name.",
  },
);
export type UsageByModel = Record<string, ModelUsageTotals>;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Adds one usage-by-model object (as stored in an item's result: each model's entry checked) into `into`. */
export function addUsage(into: UsageByModel, usage: unknown): UsageByModel {
  if (usage === null || typeof usage !== "object" || Array.isArray(usage)) return into;
  for (const [model, u] of Object.entries(usage)) {
    if (!Value.Check(ModelUsageSchema, u)) continue;
    const total = into[model] ?? { calls: 0, prompt_tokens: 0, completion_tokens: 0, seconds: 0 };
    total.calls += u.calls;
    total.prompt_tokens += u.prompt_tokens;
    total.completion_tokens += u.completion_tokens;
    total.seconds = round3(total.seconds + u.seconds);
    into[model] = total;
  }
  return into;
}

/** Several usage-by-model records added up (a new record). */
export function sumUsage(records: readonly unknown[]): UsageByModel {
  return records.reduce<UsageByModel>((total, u) => addUsage(total, u), {});
}
