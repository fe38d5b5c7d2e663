import type { FailureReason } from "./failure.js";
import type { JsonObject } from "./json.js";
import { type AttemptLogEntry, retryDelayAfter, retryPolicyOf } from "./retry-policy.js";
import type { JobStatus } from "./statuses.js";

/**
 * What happens to an item and a job when nobody's processor decides it: the one place every store engine
 * (and the runner) takes these rules from, so that every item counted as failed or cancelled also has its
 * entry in `result.results` and the JSONL export.
 */

/** An item's end decided outside its processor: its status, its error and its result entry. */
export interface ImposedOutcome {
  status: "failed" | "cancelled";
  error: string;
  result: JsonObject;
}

function imposed(status: "failed", error: string, failure: FailureReason): ImposedOutcome;
function imposed(status: "cancelled", error: string): ImposedOutcome;
function imposed(status: "failed" | "cancelled", error: string, failure?: FailureReason): ImposedOutcome {
  return { status, error, result: failure ? { status, failure, error } : { status, error } };
}

/**
 * An item failed by what went wrong around it: its processor threw (`failure` says what it threw), or its
 * job failed as a whole before it ran (its preparation threw, its runner crashed).
 */
export function failedOutcome(error: string, failure: FailureReason = "error"): ImposedOutcome {
  return imposed("failed", error, failure);
}

/** An item a user cancelled (with its job) before or while it ran. */
export const CANCELLED_BY_USER = "Cancelled by user";

export function cancelledByUser(): ImposedOutcome {
  return imposed("cancelled", CANCELLED_BY_USER);
}

/** An item not run because a dependency of it did not succeed (`error` names it; see item-dependencies.ts). */
export function skippedForDependency(error: string): {
  status: "skipped";
  error: string;
  result: JsonObject;
} {
  return { status: "skipped", error, result: { status: "skipped", error } };
}

/** What the lease sweep found about an item whose worker was lost. */
export interface LostItem {
  attempts: number;
  maxAttempts: number;
  jobStatus: JobStatus;
  /** The job's metadata (its retry policy, `metadata.retry`). */
  jobMetadata: JsonObject;
  /** When the sweep found it (epoch seconds). */
  now: number;
}

/** A lost item that goes back to the queue: not before `notBefore`, its lost try kept in its attempts log. */
export interface LostItemRetry {
  notBefore: number;
  entry: AttemptLogEntry;
}

/** The error a lost try is logged with. */
export const WORKER_LOST = "worker lost the item (its process died or stopped renewing its lease)";

/**
 * A lost item counts as a try that ended in `error`: it goes back to the queue after the job's backoff while
 * its job lives and it has attempts left; else this ends it.
 */
export function lostItemOutcome(item: LostItem): ImposedOutcome | LostItemRetry {
  const jobLive = item.jobStatus === "running" || item.jobStatus === "queued";
  if (!jobLive) return imposed("cancelled", "job ended while the item's worker was lost");
  const delay = retryDelayAfter(retryPolicyOf(item.jobMetadata, item.maxAttempts), item.attempts, "error");
  if (delay !== null)
    return {
      notBefore: item.now + delay,
      entry: { attempt: item.attempts, error: WORKER_LOST, failure: "error", finished_at: item.now },
    };
  return imposed(
    "failed",
    `worker lost the item ${item.attempts} time(s); giving up after max_attempts=${item.maxAttempts}`,
    "error",
  );
}

/** A job whose items have all ended: failed if any did, with how many. */
export function jobEnd(counts: { failed: number; total: number }): {
  status: Extract<JobStatus, "completed" | "failed">;
  error: string | null;
} {
  return counts.failed > 0
    ? { status: "failed", error: `${counts.failed} of ${counts.total} items failed` }
    : { status: "completed", error: null };
}
