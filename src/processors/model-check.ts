import { hostHasModel, type OllamaClient } from "../agent/ollama-client.js";
import { type RunConfigInput, resolveRunConfig } from "../agent/run-config.js";
import type { JsonObject } from "../domain/json.js";
import type { FieldIssue } from "../errors.js";
import { closestMatch } from "../util/closest-match.js";

/**
 * At submit: a model the job names (coder_model, reviewer_model) that no Ollama host has is a 422 naming it
 * and the models there are. Only when every host answered: a host that does not answer may have it, and a
 * job submitted while Ollama is down is accepted (it fails when it starts if Ollama is still down then).
 */
export async function unknownModelIssues(client: OllamaClient, options: JsonObject): Promise<FieldIssue[]> {
  const config = resolveRunConfig(options as RunConfigInput);
  const hosts = await client.hostStatus();
  if (hosts.some((h) => !h.reachable)) return [];
  const available = [...new Set(hosts.flatMap((h) => h.models))].sort();
  const issues: FieldIssue[] = [];
  const named: [string, string | null][] = [
    ["coder_model", config.coderModel],
    ["reviewer_model", config.reviewerModel],
  ];
  for (const [field, model] of named) {
    if (model === null || hosts.some((h) => hostHasModel(h, model))) continue;
    const near = closestMatch(model, available);
    issues.push({
      loc: [field],
      msg:
        `model '${model}' not found on ${hosts.map((h) => h.url).join(", ")}` +
        `${near ? ` — did you mean '${near}'?` : ""}; available: ${available.join(", ") || "none"}; ` +
        `run \`ollama pull ${model}\``,
      type: "value_error.model",
    });
  }
  return issues;
}
