import { CoderError, type ErrorCode } from "../errors.js";

/**
 * Why an item failed: the `failure` of every result entry whose `status` is `failed` (its `error` keeps the
 * words for people). The one list; the README's table of statuses repeats it.
 */
export const FAILURE_REASONS = {
  check:
    "it ran and did not pass: a check or test failed, a command exited non-zero, an agent task was not done (check failing, not approved) within max_loops",
  timeout: "it ran out of time (timeout_seconds, or the agent task's time limit)",
  not_found: "a file, directory, program or model it needs does not exist",
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

/**
 * What kind of failure each reason is, for automatic retries (src/domain/retry-policy.ts): `error`, the item
 * could not be carried out (the model server did not answer, a command crashed or ran out of time, its worker
 * was lost); `failed`, it ran and its outcome was negative (a check failed, a reviewer rejected, exit 1, work
 * that could not be merged); null, never retried (running it again cannot change the answer).
 */
export const FAILURE_CLASS: Record<FailureReason, "error" | "failed" | null> = {
  check: "failed",
  conflict: "failed",
  timeout: "error",
  error: "error",
  not_found: null,
  security: null,
  invalid: null,
};
export type FailureClass = "error" | "failed";

const isFailureReason = (x: unknown): x is FailureReason =>
  typeof x === "string" && Object.hasOwn(FAILURE_REASONS, x);

/**
 * The reason for an error thrown while an item ran. An error that knows its own reason says it in `failure`
 * (a model server's: a missing model is `not_found`, never retried).
 */
export function failureOfError(e: unknown): FailureReason {
  const own = (e as { failure?: unknown } | null)?.failure;
  if (isFailureReason(own)) return own;
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
