import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import type { WorkflowRecord } from "../domain/workflow.js";
import { PROGRESS_INTERVAL_MS } from "../queue/events.js";
import type { JobQueue } from "../queue/job-queue.js";
import { workflowAnswer } from "./workflow-answer.js";
import type { WorkflowAnswer } from "./workflow-schemas.js";

/**
 * Follows a workflow for an event stream: its answer now, then again (at most every PROGRESS_INTERVAL_MS)
 * whenever one of its jobs moves, as `progress`, and last as its end status, after which `onEnd` is called.
 * Returns the function that stops following.
 */
export function followWorkflow(
  queue: JobQueue,
  workflow: WorkflowRecord,
  send: (event: string, answer: WorkflowAnswer) => void,
  onEnd: () => void,
): () => void {
  const ids = new Set(Object.values(workflow.jobs));
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const offs: (() => void)[] = [];
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const off of offs.splice(0)) off();
  };
  const tell = async () => {
    timer = null;
    const answer = await workflowAnswer(queue, workflow).catch(() => null);
    if (!answer || stopped) return;
    const final = FINAL_JOB_STATUSES.includes(answer.status);
    send(final ? answer.status : "progress", answer);
    if (final) {
      stop();
      onEnd();
    }
  };
  const mine = (p: { jobId: string }) => {
    if (ids.has(p.jobId) && !timer && !stopped) timer = setTimeout(() => void tell(), PROGRESS_INTERVAL_MS);
  };
  offs.push(
    queue.events.on("job:started", mine),
    queue.events.on("job:progress", mine),
    queue.events.on("job:finished", mine),
    queue.events.on("job:cancelled", mine),
  );
  void tell();
  return stop;
}
