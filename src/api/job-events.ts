import type { JobRecord } from "../domain/records.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import { PROGRESS_INTERVAL_MS } from "../queue/events.js";
import type { JobQueue } from "../queue/job-queue.js";
import { jobAnswer, toJobResponse } from "./job-response.js";

/** One message of the event streams (SSE and WebSocket alike). */
export interface StreamMessage {
  event: string;
  data: unknown;
}

export interface JobEventOptions {
  /** One job, or every job (null). */
  jobId: string | null;
  /** Minimum time between two progress messages of one job. */
  progressIntervalMs?: number;
  send: (m: StreamMessage) => void;
  /** Called after the final event of a one-job subscription. */
  onEnd?: () => void;
}

/**
 * Follows the queue's typed event bus for one job or all: `progress` (the JobResponse without results) at
 * most every PROGRESS_INTERVAL_MS per job, `waiting` (the same) when a job is stored waiting on other jobs and
 * `progress` when they ended and released it, `item` as items finish, and a final event named after the end status.
 */
export function followJobEvents(queue: JobQueue, o: JobEventOptions): () => void {
  const interval = o.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  const lastSent = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  let closed = false;
  const matches = (jobId: string) => o.jobId === null || o.jobId === jobId;
  const snapshot = async (jobId: string): Promise<JobRecord | null> => (closed ? null : queue.find(jobId));

  /** Jobs this stream said `waiting` of: it says so once per job, whichever event made it look first. */
  const saidWaiting = new Set<string>();
  /**
   * The job as it is now: `waiting` (once) while it waits on other jobs, else `progress`. Events may be read in
   * another order than they were emitted (each reads the store), so a job's first answer is whichever comes.
   */
  const sendProgress = async (jobId: string, how: "event" | "first" | "only-waiting" = "event") => {
    const job = await snapshot(jobId);
    if (!job || closed || FINAL_JOB_STATUSES.includes(job.status)) return;
    if (job.status === "queued" && job.waitingFor.length > 0) {
      if (saidWaiting.has(jobId)) return;
      saidWaiting.add(jobId);
      o.send({ event: "waiting", data: toJobResponse(job, queue.nowSeconds()) });
      return;
    }
    if (how === "only-waiting") return;
    // The stream's first look is not a progress event: it does not hold the next one back.
    if (how === "event") lastSent.set(jobId, Date.now());
    o.send({ event: "progress", data: toJobResponse(job, queue.nowSeconds()) });
  };
  /** A job stored waiting on other jobs: the `waiting` event, its answer (waiting_for lists them). */
  const sendWaiting = (jobId: string) => sendProgress(jobId, "only-waiting");
  const progress = ({ jobId }: { jobId: string }) => {
    if (!matches(jobId) || pending.has(jobId)) return;
    const wait = Math.max(0, interval - (Date.now() - (lastSent.get(jobId) ?? 0)));
    pending.set(
      jobId,
      setTimeout(() => {
        pending.delete(jobId);
        void sendProgress(jobId);
      }, wait),
    );
  };
  const finished = async ({ jobId }: { jobId: string }) => {
    if (!matches(jobId)) return;
    const t = pending.get(jobId);
    if (t) clearTimeout(t);
    pending.delete(jobId);
    const job = await snapshot(jobId);
    if (!job || closed) return;
    const answer = await jobAnswer(queue, job);
    if (closed) return;
    o.send({ event: job.status, data: answer });
    if (o.jobId !== null) {
      stop();
      o.onEnd?.();
    }
  };
  const offs = [
    queue.events.on("job:submitted", ({ jobId }) => matches(jobId) && void sendProgress(jobId)),
    queue.events.on("job:waiting", ({ jobId }) => matches(jobId) && void sendWaiting(jobId)),
    queue.events.on("job:released", ({ jobId }) => matches(jobId) && void sendProgress(jobId)),
    queue.events.on("job:started", progress),
    queue.events.on("job:progress", progress),
    queue.events.on("job:finished", (p) => void finished(p)),
    queue.events.on("item:completed", (p) => {
      if (!matches(p.jobId) || closed) return;
      const status = queue.statusWord(p.jobType, p.status);
      o.send({ event: "item", data: { job_id: p.jobId, seq: p.seq, id: p.itemId, status } });
    }),
  ];
  const stop = () => {
    if (closed) return;
    closed = true;
    for (const off of offs) off();
    for (const t of pending.values()) clearTimeout(t);
    pending.clear();
  };
  // Where the job stands now; a job that already ended gets its final event at once.
  if (o.jobId !== null) {
    const id = o.jobId;
    void snapshot(id).then((job) => {
      if (!job || closed) return;
      if (FINAL_JOB_STATUSES.includes(job.status)) void finished({ jobId: id });
      else void sendProgress(id, "first"); // `waiting` for a job that waits on other jobs
    });
  }
  return stop;
}
