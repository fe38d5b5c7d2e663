import type { JsonObject } from "../domain/json.js";
import type { NewItem } from "../domain/records.js";
import type { WorkflowRecord } from "../domain/workflow.js";

/** The workflows table (a workflow's status and progress are read from its jobs, not stored). */
export interface WorkflowStore {
  /** Stores a workflow record (its jobs are created by the caller, through createJob). */
  createWorkflow(workflow: WorkflowRecord): Promise<void>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  /** Workflows, newest first, with the total. */
  listWorkflows(page: {
    limit: number;
    offset: number;
  }): Promise<{ workflows: WorkflowRecord[]; total: number }>;
  /**
   * Deletes up to `limit` workflows created before `createdBefore` (epoch seconds) none of whose jobs is left
   * (all purged); returns their ids.
   */
  dropEmptyWorkflows(createdBefore: number, limit: number): Promise<string[]>;
  /**
   * Gives a queued job that has no items yet (a workflow step whose items come from an earlier step) its
   * items, and merges `metadata` into its metadata, in one transaction. With no items the job
   * becomes `running` (so that finalizeJob, or the idle-job sweep after a crash, ends it `completed`). Only a job whose `metadata.inputs.state` is still `pending` (the patch
   * sets it to `resolved`): false when the job is not queued or another node filled it first.
   */
  fillJobItems(id: string, items: readonly NewItem[], metadata: JsonObject, now: number): Promise<boolean>;
}
