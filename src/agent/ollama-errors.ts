import { CoderError } from "../errors.js";

export type OllamaErrorKind = "model_missing" | "unreachable" | "http" | "stream" | "busy";

/** An error users can act on: it names the URL and, for a missing model, the command that fixes it. */
export class OllamaError extends CoderError {
  readonly kind: OllamaErrorKind;
  readonly status: number | null;
  constructor(kind: OllamaErrorKind, message: string, status: number | null = null) {
    super("job_setup_failed", message);
    this.name = "OllamaError";
    this.kind = kind;
    this.status = status;
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
