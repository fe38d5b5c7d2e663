import type { FailureReason } from "../domain/failure.js";
import { CoderError } from "../errors.js";

export type OllamaErrorKind = "model_missing" | "unreachable" | "http" | "stream" | "busy";

/** An error users can act on: it names the URL and, for a missing model, the command that fixes it. */
export class OllamaError extends CoderError {
  readonly kind: OllamaErrorKind;
  readonly status: number | null;
  /**
   * The item's failure when this error ends it (src/domain/failure.ts): a missing model is `not_found` and
   * never retried; the server unreachable, busy (503) or failing is `error`, retried by the job's retry policy.
   */
  readonly failure: FailureReason;
  constructor(kind: OllamaErrorKind, message: string, status: number | null = null) {
    super("job_setup_failed", message);
    this.name = "OllamaError";
    this.kind = kind;
    this.status = status;
    this.failure = kind === "model_missing" ? "not_found" : "error";
  }
}

export const modelMissing = (model: string, urls: readonly string[]): OllamaError =>
  new OllamaError(
    "model_missing",
    `model '${model}' not found on ${urls.join(", ")}; run \`ollama pull ${model}\``,
  );

export const unreachable = (url: string, cause: string): OllamaError =>
  new OllamaError(
    "unreachable",
    `cannot connect to Ollama at ${url} (${cause}); is \`ollama serve\` running? (set --ollama-url or OLLAMA_HOST)`,
  );
