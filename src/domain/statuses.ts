/** Job lifecycle: queued -> running -> one of the final states (or cancelled while queued). */
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];

/**
 * Item lifecycle as stored: queued -> running (leased) -> one of the final states. `succeeded` stays inside
 * the store; every answer says the job type's success word instead (see SUCCESS_WORDS).
 */
export const ITEM_STATUSES = ["queued", "running", "succeeded", "failed", "skipped", "cancelled"] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
export type ItemFinalStatus = Exclude<ItemStatus, "queued" | "running">;

/**
 * An item whose dependencies (`depends_on`) have not all ended, as stored: out of the queued items' index, so
 * claims never look at it. It is `queued` in every answer and filter (see answeredItemStatus,
 * storedItemStatuses); when its last dependency ends it becomes `queued` in the store too.
 */
export const WAITING_ITEM_STATUS = "waiting";
/** Stored statuses of items that have not ended: answers count them as not started or running. */
export const UNENDED_STORED_STATUSES = ["queued", "running", WAITING_ITEM_STATUS] as const;

/** A stored status in the answers' vocabulary (a waiting item is queued). */
export function answeredItemStatus(stored: string): ItemStatus {
  return (stored === WAITING_ITEM_STATUS ? "queued" : stored) as ItemStatus;
}

/** The stored statuses an answer's statuses stand for (`queued` is also the waiting items). */
export function storedItemStatuses(statuses: readonly ItemStatus[]): string[] {
  return statuses.includes("queued") ? [...statuses, WAITING_ITEM_STATUS] : [...statuses];
}
/** How an item that did not succeed ended: the same word in the store and in every answer. */
export const UNSUCCESSFUL_END_STATUSES = [
  "failed",
  "skipped",
  "cancelled",
] as const satisfies readonly ItemFinalStatus[];

/**
 * What a result entry's `status` says when its item succeeded, by job type (the guide's words): `completed`
 * for agent tasks, `passed` for validation and tests, `success` for MCP operations and any type that does
 * not choose (DEFAULT_SUCCESS_WORD). A failed, skipped or cancelled item says `failed`, `skipped`, `cancelled`
 * whatever its type; why it failed is its `failure` (src/domain/failure.ts).
 */
export const SUCCESS_WORDS = ["completed", "passed", "success"] as const;
export type SuccessWord = (typeof SUCCESS_WORDS)[number];
export const DEFAULT_SUCCESS_WORD: SuccessWord = "success";

/** The `status` of a result entry or an item in an answer: the stored status in the answers' words. */
export type ItemStatusWord = Exclude<ItemStatus, "succeeded"> | SuccessWord;

export function itemStatusWord(status: ItemStatus, successWord: SuccessWord): ItemStatusWord {
  return status === "succeeded" ? successWord : status;
}

/**
 * Every word an item status filter (`/items?status=`) takes: the stored statuses, every success word (and
 * the summary's `successful`) as a synonym of `succeeded`, whatever the job's type.
 */
export const ITEM_STATUS_FILTERS = [...ITEM_STATUSES, ...SUCCESS_WORDS, "successful"] as const;
export type ItemStatusFilter = (typeof ITEM_STATUS_FILTERS)[number];

export function storedItemStatus(filter: ItemStatusFilter): ItemStatus {
  return (ITEM_STATUSES as readonly string[]).includes(filter) ? (filter as ItemStatus) : "succeeded";
}

/** What a retry may take again (`include`): items that ended, by any of their words. */
export const RETRY_INCLUDES = [
  "failed",
  "cancelled",
  "skipped",
  "succeeded",
  ...SUCCESS_WORDS,
  "successful",
] as const;
export type RetryInclude = (typeof RETRY_INCLUDES)[number];
