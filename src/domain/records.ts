import type { DependencyFailurePolicy } from "./dependencies.js";
import type { JsonObject } from "./json.js";
import type { AttemptLogEntry } from "./retry-policy.js";
import type { ItemStatus, JobStatus } from "./statuses.js";

/** The records jobs and items are stored and answered as. */

export interface NewItem {
  itemId: string;
  payload: JsonObject;
  /** Positions (seq) of the items of the job it waits for (`depends_on`); absent or empty: none. */
  dependsOn?: readonly number[] | undefined;
  /** It runs even when a dependency did not succeed (`on_dependency_failure: "run"`). */
  runOnDependencyFailure?: boolean | undefined;
  /** A dependency outside the job already failed (a retry's item whose dependency was not retried). */
  depFailure?: string | null | undefined;
}

export interface NewJob {
  id: string;
  type: string;
  options: JsonObject;
  metadata: JsonObject;
  chunkSize: number;
  parallel: number;
  priority: number;
  maxAttempts: number;
  createdAt: number;
  /** Not before (epoch seconds); absent or null: at once. */
  runAt?: number | null;
  /** Jobs this one waits on (ids; see src/domain/dependencies.ts). */
  dependsOn?: readonly string[];
  /** What a failed or cancelled dependency does to it (default skip: it is cancelled). */
  onDependencyFailure?: DependencyFailurePolicy;
  items: NewItem[];
}

export interface ItemCounts {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

export interface JobRecord extends ItemCounts {
  id: string;
  type: string;
  status: JobStatus;
  options: JsonObject;
  metadata: JsonObject;
  error: string | null;
  chunkSize: number;
  parallel: number;
  priority: number;
  maxAttempts: number;
  currentItem: string | null;
  /** Items waiting in the queue for an automatic retry (counted where a job is read: getJob, listJobs). */
  retrying: number;
  /** Some of its items depend on others (`depends_on`): ends of items release their dependants. */
  itemDependencies?: boolean;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  updatedAt: number;
  /** The jobs it depends on, as submitted ([] for none). */
  dependsOn: string[];
  /** Those of them that have not ended yet: while any is left, the job stays queued and is never started. */
  waitingFor: string[];
  onDependencyFailure: DependencyFailurePolicy;
}

export interface JobFilter {
  status?: JobStatus | undefined;
  type?: string | undefined;
  limit: number;
  offset: number;
}

export interface ItemRecord {
  seq: number;
  itemId: string;
  payload: JsonObject;
  status: ItemStatus;
  attempts: number;
  result: JsonObject | null;
  error: string | null;
  workerId: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** A queued item waiting for its automatic retry: not before this (epoch seconds); else null. */
  notBefore: number | null;
  /** Its earlier tries that failed and were retried, oldest first. */
  attemptsLog: AttemptLogEntry[];
}

export interface ItemFilter {
  /** Only items in this status (or in any of these). */
  status?: ItemStatus | readonly ItemStatus[] | undefined;
  /** Only the items with these ids. */
  itemIds?: readonly string[] | undefined;
  /** Failed items first, then by position. */
  failedFirst?: boolean;
  /**
   * Only items that ended (neither queued nor running): those with a result entry, and those cancelled before
   * they started.
   */
  ended?: boolean;
  /** Only items after this position (keyset paging: every page costs the same, however deep). */
  afterSeq?: number;
  /** Count the items that match (default true); paging through a whole job needs no total. */
  countTotal?: boolean;
  limit: number;
  offset: number;
}
