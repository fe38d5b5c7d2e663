import { ConfigError } from "../errors.js";

/** A task run's settings as users give them (REST body, CLI flags). */
export interface RunConfigInput {
  check_command?: string;
  max_loops?: number;
  coder_model?: string;
  reviewer_model?: string | null;
  apply_changes?: boolean;
  timeout_seconds?: number;
  workspace?: string;
  /** Passed through to Ollama as `options`. */
  num_ctx?: number;
  temperature?: number;
  keep_alive?: string | number;
}

export interface RunConfig {
  checkCommand: string;
  maxLoops: number;
  coderModel: string;
  reviewerModel: string | null;
  applyChanges: boolean;
  timeoutMs: number | null;
  workspace: string | null;
  modelOptions: { num_ctx?: number; temperature?: number; seed?: number | undefined };
  keepAlive: string | number | undefined;
  /** Per tool command (not the check). */
  commandTimeoutMs: number;
  /** Check command time limit. */
  checkTimeoutMs: number;
  /** Caps of what a result keeps. */
  diffCapBytes: number;
  outputCapBytes: number;
  transcriptCapBytes: number;
}

export const RUN_DEFAULTS = {
  check_command: "pytest -q",
  max_loops: 16,
  coder_model: "qwen2.5-coder:7b",
  reviewer_model: "llama3.2",
  apply_changes: true,
} satisfies RunConfigInput;

export function resolveRunConfig(input: RunConfigInput): RunConfig {
  const maxLoops = input.max_loops ?? RUN_DEFAULTS.max_loops;
  if (!Number.isInteger(maxLoops) || maxLoops < 1)
    throw new ConfigError("max_loops must be a whole number >= 1");
  const checkCommand = (input.check_command ?? RUN_DEFAULTS.check_command).trim();
  if (!checkCommand) throw new ConfigError("check_command must not be empty");
  const timeout = input.timeout_seconds;
  if (timeout !== undefined && !(timeout > 0)) throw new ConfigError("timeout_seconds must be > 0");
  const modelOptions: RunConfig["modelOptions"] = {};
  if (input.num_ctx !== undefined) modelOptions.num_ctx = input.num_ctx;
  if (input.temperature !== undefined) modelOptions.temperature = input.temperature;
  return {
    checkCommand,
    maxLoops,
    coderModel: input.coder_model ?? RUN_DEFAULTS.coder_model,
    reviewerModel: input.reviewer_model === undefined ? RUN_DEFAULTS.reviewer_model : input.reviewer_model,
    applyChanges: input.apply_changes ?? RUN_DEFAULTS.apply_changes,
    timeoutMs: timeout === undefined ? null : timeout * 1000,
    workspace: input.workspace ?? null,
    modelOptions,
    keepAlive: input.keep_alive,
    commandTimeoutMs: 120_000,
    checkTimeoutMs: 300_000,
    diffCapBytes: 64 * 1024,
    outputCapBytes: 16 * 1024,
    transcriptCapBytes: 128 * 1024,
  };
}
