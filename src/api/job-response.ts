import type { Static } from "typebox";
import type { UsageByModel } from "../domain/model-usage.js";
import type { JobRecord } from "../domain/records.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import type { JobQueue, ResultEntry } from "../queue/job-queue.js";
import { percentage, progressSnapshot } from "../queue/progress.js";
import type { JobResponse, JobSummary } from "./schemas.js";

/**
 * The contract's JobResponse; `results` only when the caller asked for them, `summary.usage` when given (an
 * ended job of a kind that reports usage: see jobAnswer).
 */
export function toJobResponse(
  job: JobRecord,
  nowSeconds: number,
  results?: ResultEntry[],
  usage?: UsageByModel | null,
): Static<typeof JobResponse> {
  const progress = progressSnapshot(job, nowSeconds);
  const metadata: Record<string, unknown> = { ...job.metadata };
  if (job.startedAt !== null || FINAL_JOB_STATUSES.includes(job.status)) metadata.progress = progress;
  if (job.dependsOn.length > 0) metadata.waiting_for = job.waitingFor;
  let result: Static<typeof JobResponse>["result"] = null;
  if (FINAL_JOB_STATUSES.includes(job.status)) {
    const summary: Static<typeof JobSummary> = {
      total: job.total,
      successful: job.succeeded,
      failed: job.failed,
      skipped: job.skipped,
      cancelled: job.cancelled,
    };
    if (usage) summary.usage = usage;
    result = { summary, elapsed_seconds: progress.elapsed_seconds };
    if (results) result.results = results;
  }
  return {
    job_id: job.id,
    job_type: job.type,
    status: job.status,
    priority: job.priority,
    progress: percentage(job),
    result,
    error: job.error,
    created_at: job.createdAt,
    started_at: job.startedAt,
    completed_at: job.completedAt,
    depends_on: job.dependsOn,
    waiting_for: job.waitingFor,
    workflow_id: typeof job.metadata.workflow_id === "string" ? job.metadata.workflow_id : null,
    metadata,
  };
}

/** A job's answer without its results, with the usage totals its kind reports once it has ended. */
export async function jobAnswer(queue: JobQueue, job: JobRecord, nowSeconds = queue.nowSeconds()) {
  return toJobResponse(job, nowSeconds, undefined, await queue.usageTotals(job));
}
