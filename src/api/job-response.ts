import type { JobRecord } from "../domain/records.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import type { ResultEntry } from "../queue/job-queue.js";
import { percentage, progressSnapshot } from "../queue/progress.js";

/** The contract's JobResponse; `results` only when the caller asked for them. */
export function toJobResponse(job: JobRecord, nowSeconds: number, results?: ResultEntry[]) {
  const progress = progressSnapshot(job, nowSeconds);
  const metadata: Record<string, unknown> = { ...job.metadata };
  if (job.startedAt !== null || FINAL_JOB_STATUSES.includes(job.status)) metadata.progress = progress;
  let result: Record<string, unknown> | null = null;
  if (FINAL_JOB_STATUSES.includes(job.status)) {
    result = {
      summary: {
        total: job.total,
        successful: job.succeeded,
        failed: job.failed,
        skipped: job.skipped,
        cancelled: job.cancelled,
      },
      elapsed_seconds: progress.elapsed_seconds,
    };
    if (results) result.results = results;
  }
  return {
    job_id: job.id,
    status: job.status,
    progress: percentage(job),
    result,
    error: job.error,
    created_at: job.createdAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    metadata,
  };
}
