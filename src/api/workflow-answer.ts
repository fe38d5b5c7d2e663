import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import { type WorkflowRecord, workflowStatus } from "../domain/workflow.js";
import type { JobQueue } from "../queue/job-queue.js";
import type { WorkflowAnswer } from "./workflow-schemas.js";

/**
 * A workflow as answered: its status and progress derived from its steps' jobs as they are now. A step whose
 * job was deleted (retention) shows `purged`, and counts as ended.
 */
export async function workflowAnswer(queue: JobQueue, workflow: WorkflowRecord): Promise<WorkflowAnswer> {
  const steps = await Promise.all(
    workflow.spec.steps.map(async (step) => {
      const jobId = workflow.jobs[step.id] ?? "";
      const job = await queue.find(jobId);
      const done = job ? job.succeeded + job.failed + job.skipped + job.cancelled : 0;
      return {
        id: step.id,
        type: step.type,
        job_id: jobId,
        status: job?.status ?? ("purged" as const),
        depends_on: step.depends_on ?? [],
        total: job?.total ?? 0,
        done,
        error: job?.error ?? null,
      };
    }),
  );
  const statuses = steps.map((s) => (s.status === "purged" ? "completed" : s.status));
  const itemsTotal = steps.reduce((n, s) => n + s.total, 0);
  const itemsDone = steps.reduce((n, s) => n + s.done, 0);
  const ended = statuses.filter((s) => FINAL_JOB_STATUSES.includes(s)).length;
  return {
    workflow_id: workflow.id,
    name: workflow.name,
    status: workflowStatus(statuses),
    created_at: workflow.createdAt,
    progress: {
      steps_total: steps.length,
      steps_ended: ended,
      items_total: itemsTotal,
      items_done: itemsDone,
      percentage: steps.length === 0 ? 100 : Math.round((ended / steps.length) * 1000) / 10,
    },
    steps,
  };
}
