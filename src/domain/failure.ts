import { CoderError, type ErrorCode } from "../errors.js";

/**
 * Why an item failed: the `failure` of every result entry whose `status` is `failed` (its `error` keeps the
 * words for people). The one list; the README's table of statuses repeats it.
 */
export const FAILURE_REASONS = {
  check:
    "it ran and did not pass: a check or test failed, a command exited non-zero, an agent task was not done (check failing, not approved) within max_loops",
  timeout: "it ran out of time (timeout_seconds, or the agent task's time limit)",
  not_found: "a file, directory or program it needs does not exist",
  security: "the sandbox or the guardrail refused it (a path outside the project root, a forbidden command)",
  conflict: "an agent task's work could not be merged back into the project (kept on its branch)",
  invalid: "it cannot be done as given (an unknown operation type, a directory where a file is needed)",
  error: "anything else: its processor threw, the model could not be reached, its worker was lost too often",
} as const;
export type FailureReason = keyof typeof FAILURE_REASONS;
export const FAILURE_REASON_NAMES = Object.keys(FAILURE_REASONS) as FailureReason[];

const BY_CODE: Partial<Record<ErrorCode, FailureReason>> = {
  not_found: "not_found",
  security_block: "security",
  invalid_input: "invalid",
  conflict: "conflict",
};

/** The reason for an error thrown while an item ran. */
export function failureOfError(e: unknown): FailureReason {
  if (e instanceof CoderError) return BY_CODE[e.code] ?? "error";
  if (e instanceof Error && (e.name === "TimeoutError" || (e as { code?: string }).code === "ETIMEDOUT"))
    return "timeout";
  return "error";
}

/**
 * The reason for an error known only by its text (a tool answer through MCP, a command that could not start):
 * the sandbox's refusals start with "SECURITY BLOCK: ", and its missing paths and programs say so.
 */
export function failureOfMessage(text: string): FailureReason {
  if (text.startsWith("SECURITY BLOCK: ")) return "security";
  if (/^(no such file or directory|command not found)\b/.test(text)) return "not_found";
  if (/\btimed out\b/.test(text)) return "timeout";
  if (/ is (a|not a) directory\b/.test(text)) return "invalid";
  return "error";
}
