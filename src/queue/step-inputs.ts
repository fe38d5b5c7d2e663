import { isJsonObject, type JsonObject } from "../domain/json.js";
import type { JobRecord, NewItem } from "../domain/records.js";
import { INPUTS_KEY } from "../domain/workflow.js";

/**
 * What a job fed by an earlier job (a workflow step with `inputs`) is given once that job has ended: its items,
 * and what to merge into its metadata (the inputs resolved). Null: its source has not ended yet.
 */
export type ResolvedInputs = { items: NewItem[]; metadata: JsonObject } | null;

/**
 * Builds a pending-inputs job's items the way its submit route would. Injected by the app (the queue knows no
 * routes or kinds' bodies); throws (a 422's message) when the items made are not valid: the job fails with it.
 */
export type InputResolver = (job: JobRecord) => Promise<ResolvedInputs>;

/** Whether a job still waits for its inputs to be resolved before it has items to run. */
export function hasPendingInputs(job: JobRecord): boolean {
  const inputs = job.metadata[INPUTS_KEY];
  return job.status === "queued" && job.total === 0 && isJsonObject(inputs) && inputs.state === "pending";
}
