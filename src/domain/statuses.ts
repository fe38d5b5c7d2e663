/** Job lifecycle: queued -> running -> one of the final states (or cancelled while queued). */
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/** Item lifecycle: queued -> running (leased) -> one of the final states. */
export const ITEM_STATUSES = ["queued", "running", "succeeded", "failed", "skipped", "cancelled"] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
export type ItemFinalStatus = Exclude<ItemStatus, "queued" | "running">;
