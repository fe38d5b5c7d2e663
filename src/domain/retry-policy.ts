import { FAILURE_CLASS, type FailureClass, type FailureReason } from "./failure.js";
import type { JsonObject } from "./json.js";

/**
 * A job's automatic retries (`retry` on submit; kept in `metadata.retry`): how often an item is tried in all,
 * how long it waits between tries, and which failures are tried again (src/domain/failure.ts classifies them).
 */
export type RetryPolicy = {
  /** Tries in all, the first included (1: never retried). */
  max_attempts: number;
  /** `exponential`: delay_seconds * 2^(attempt-1); `fixed`: delay_seconds each time. */
  backoff: "exponential" | "fixed";
  delay_seconds: number;
  /** The longest wait, whatever the backoff says. */
  max_delay_seconds: number;
  /** `full`: a random wait in [0, d]; `equal`: d/2 plus a random part of d/2; `none`: d. */
  jitter: "none" | "full" | "equal";
  /** Which failures are tried again: always `error` (could not be carried out), `failed` too when listed. */
  on: FailureClass[];
};

export const BACKOFFS = ["exponential", "fixed"] as const;
export const JITTERS = ["none", "full", "equal"] as const;
export const RETRY_ON = ["error", "failed"] as const;

/** The policy of a job that names none, and what a policy leaves out. The one place of these defaults. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  max_attempts: 3,
  backoff: "exponential",
  delay_seconds: 1,
  max_delay_seconds: 300,
  jitter: "none",
  on: ["error"] as FailureClass[],
});

/** The bounds a submitted policy must keep (the API's schema says them). */
export const RETRY_LIMITS = {
  maxAttempts: 20,
  maxDelaySeconds: 86_400,
} as const;

/** A submitted (partial) policy with the defaults filled in. */
export function resolveRetryPolicy(input: Partial<RetryPolicy> | undefined): RetryPolicy {
  const p = { ...DEFAULT_RETRY_POLICY, ...input };
  return { ...p, on: [...new Set<FailureClass>(["error", ...p.on])] };
}

/**
 * A stored job's policy: `metadata.retry` as submitted (jobs stored before retries had none: the defaults),
 * with the attempts the job row keeps (`max_attempts`, the one the store and the lease sweep count against).
 */
export function retryPolicyOf(metadata: JsonObject, maxAttempts: number): RetryPolicy {
  const stored = metadata.retry;
  const given =
    stored !== null && typeof stored === "object" && !Array.isArray(stored)
      ? (stored as unknown as Partial<RetryPolicy>)
      : undefined;
  return { ...resolveRetryPolicy(given), max_attempts: maxAttempts };
}

/** How long to wait (seconds) before the try after `attempt` (1-based) failed. */
export function retryDelaySeconds(
  p: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = p.backoff === "fixed" ? p.delay_seconds : p.delay_seconds * 2 ** Math.max(0, attempt - 1);
  const d = Math.min(base, p.max_delay_seconds);
  if (p.jitter === "full") return random() * d;
  if (p.jitter === "equal") return d / 2 + (random() * d) / 2;
  return d;
}

/**
 * Whether an item whose try number `attempt` just failed with `failure` is tried again, and after how many
 * seconds; null: it is not (its class is never retried or not in `on`, or it used up its attempts).
 */
export function retryDelayAfter(
  p: RetryPolicy,
  attempt: number,
  failure: FailureReason,
  random: () => number = Math.random,
): number | null {
  const cls = FAILURE_CLASS[failure];
  if (cls === null || !p.on.includes(cls) || attempt >= p.max_attempts) return null;
  return retryDelaySeconds(p, attempt, random);
}

/** One earlier try of an item, as `attempts_log` keeps it. */
export type AttemptLogEntry = {
  attempt: number;
  error: string | null;
  failure: FailureReason;
  finished_at: number;
};
