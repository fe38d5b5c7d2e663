import type { JobRecord } from "../domain/records.js";
import { errorMessage } from "../errors.js";
import type { LogFields, Logger } from "../util/logger.js";
import type { QueueEvents } from "./events.js";
import type { JobQueue } from "./job-queue.js";

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;

/** What a line about a job says of it at submit: its type, size and how it runs. */
function submitted(job: JobRecord): LogFields {
  const retryOf = job.metadata.retry_of;
  return {
    job_id: job.id,
    job_type: job.type,
    items: job.total,
    parallel: job.parallel,
    chunk_size: job.chunkSize,
    ...(typeof retryOf === "string" ? { retry_of: retryOf } : {}),
  };
}

/** What a line about an ended job says: its status, counts, duration and error. */
function ended(job: JobRecord): LogFields {
  const end = job.completedAt ?? job.updatedAt;
  return {
    job_id: job.id,
    job_type: job.type,
    status: job.status,
    total: job.total,
    succeeded: job.succeeded,
    failed: job.failed,
    skipped: job.skipped,
    cancelled: job.cancelled,
    duration_seconds: round(end - (job.startedAt ?? job.createdAt)),
    ...(job.error ? { error: job.error } : {}),
  };
}

/**
 * Logs each job's life at `info`, one structured line per step: submitted (or retried, with the job it
 * retries), started, ended (status, counts, duration) and cancelled. The facts are the job as stored, read
 * once per step. Each node logs what happened in it: events relayed from other nodes are left out. Returns
 * the function that stops it.
 */
export function logJobLifecycle(queue: JobQueue, events: QueueEvents, log: Logger): () => void {
  const withJob = (jobId: string, write: (job: JobRecord) => void) => {
    if (events.isRemote) return;
    queue.get(jobId).then(write, (e: unknown) => log.debug(`job ${jobId} not logged: ${errorMessage(e)}`));
  };
  const offs = [
    events.on("job:submitted", ({ jobId }) =>
      withJob(jobId, (job) => {
        const f = submitted(job);
        log.info(f.retry_of ? "job retried" : "job submitted", f);
      }),
    ),
    events.on("job:started", ({ jobId }) =>
      withJob(jobId, (job) => log.info("job started", { job_id: job.id, job_type: job.type })),
    ),
    events.on("job:cancelled", ({ jobId }) => {
      if (!events.isRemote) log.info("job cancelled", { job_id: jobId });
    }),
    events.on("job:finished", ({ jobId }) => withJob(jobId, (job) => log.info("job ended", ended(job)))),
  ];
  return () => {
    for (const off of offs) off();
  };
}
