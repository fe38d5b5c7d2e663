import type { JobRecord } from "../domain/records.js";

/** `metadata.progress` of the REST contract. */
export interface ProgressSnapshot {
  total: number;
  processed: number;
  successful: number;
  failed: number;
  skipped: number;
  cancelled: number;
  /** Items waiting in the queue for an automatic retry (not processed yet). */
  retrying: number;
  percentage: number;
  elapsed_seconds: number;
  items_per_second: number;
  estimated_remaining_seconds: number | null;
  current_item: string | null;
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const processedCount = (job: JobRecord): number => job.succeeded + job.failed + job.skipped;

/** 0-100: share of the items processed (a cancelled job keeps the share it reached). */
export function percentage(job: JobRecord): number {
  if (job.total === 0) return 100;
  return round((100 * processedCount(job)) / job.total, 2);
}

/** Derived from the counters the workers commit with each result batch; `nowSeconds` for running jobs. */
export function progressSnapshot(job: JobRecord, nowSeconds: number): ProgressSnapshot {
  const processed = processedCount(job);
  const end = job.completedAt ?? nowSeconds;
  const elapsed = job.startedAt === null ? 0 : Math.max(0, end - job.startedAt);
  const rate = elapsed > 0 ? processed / elapsed : 0;
  const remaining = job.total - processed - job.cancelled;
  let eta: number | null = null;
  if (job.completedAt !== null || remaining === 0) eta = 0;
  else if (rate > 0) eta = round(remaining / rate, 2);
  return {
    total: job.total,
    processed,
    successful: job.succeeded,
    failed: job.failed,
    skipped: job.skipped,
    cancelled: job.cancelled,
    retrying: job.retrying,
    percentage: percentage(job),
    elapsed_seconds: round(elapsed, 3),
    items_per_second: round(rate, 2),
    estimated_remaining_seconds: eta,
    current_item: job.currentItem,
  };
}
