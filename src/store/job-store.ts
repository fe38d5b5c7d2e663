/**
 * The storage contract every backend implements (SQLite embedded, PostgreSQL for several nodes).
 * It speaks in plain records: no driver types leak through it, and it knows nothing of workers or HTTP.
 */
import type { FailureReason } from "../domain/failure.js";
import type { JsonObject } from "../domain/json.js";
import type { ItemFilter, ItemRecord, JobFilter, JobRecord, NewJob } from "../domain/records.js";
import type { AttemptLogEntry } from "../domain/retry-policy.js";
import type { ItemFinalStatus, JobStatus } from "../domain/statuses.js";
import type { ResultCacheStore } from "./result-cache-store.js";
import type { ScheduleStore } from "./schedule-store.js";
import type { WorkflowStore } from "./workflow-store.js";

/** The domain types the contract speaks in, for the backends (everything else imports src/domain). */
export type { JsonObject } from "../domain/json.js";
export type {
  ItemCounts,
  ItemFilter,
  ItemRecord,
  JobFilter,
  JobRecord,
  NewItem,
  NewJob,
} from "../domain/records.js";
export {
  FINAL_JOB_STATUSES,
  ITEM_STATUSES,
  type ItemFinalStatus,
  type ItemStatus,
  JOB_STATUSES,
  type JobStatus,
} from "../domain/statuses.js";
export type { WorkflowRecord } from "../domain/workflow.js";
export type { CacheCounts, CachedResult, ResultCacheStore } from "./result-cache-store.js";
export type { ScheduleRecord, ScheduleStore } from "./schedule-store.js";
export type { WorkflowStore } from "./workflow-store.js";

/** An item handed to a worker under a lease; `attempt` fences its result. */
export interface ClaimedItem {
  /** The backend's own row key, handed back with the outcome. */
  key: number;
  jobId: string;
  seq: number;
  itemId: string;
  payload: JsonObject;
  attempt: number;
  /**
   * A dependency of it did not succeed (`dependency task1 failed`) and it is not to run anyway: the runner
   * records it skipped with this error, without running it.
   */
  depFailure?: string;
}

export interface ItemOutcome {
  key: number;
  seq: number;
  attempt: number;
  status: ItemFinalStatus;
  /** null for an item that never started (cancelled in a claimed chunk). */
  result: JsonObject | null;
  error: string | null;
  finishedAt: number;
  /**
   * Set when the item is tried again (its job's retry policy): instead of ending, it goes back to the queue
   * not before `notBefore`, this try kept in its attempts_log; `status`, `result` and `error` are then unused.
   */
  retry?: { notBefore: number; entry: AttemptLogEntry };
}

export type CancelOutcome = "cancelled" | "not_found" | "finished";

/** A submit's idempotency key as a store keeps it: the request it stood for, and the job made for it. */
export interface IdempotencyRecord {
  fingerprint: string;
  jobId: string;
  /** When the key was taken (epoch seconds). */
  createdAt: number;
}

/** How deleting one job went: gone, no such job, not ended yet, or ended with items still finishing. */
export type PurgeOutcome = "purged" | "not_found" | "not_ended" | "finishing";

export interface LeaseSweep {
  /** Items put back in the queue (each after its backoff). */
  requeued: number;
  /** Items that used up their attempts and were failed. */
  abandoned: number;
  /** Jobs touched, so their runners can be woken or finalized. */
  jobIds: string[];
}

/** A cross-process notice (PostgreSQL LISTEN/NOTIFY): which event, its payload, and the process it came from. */
export interface StoreNotice {
  event: string;
  payload: Record<string, unknown>;
  origin: string;
}

export interface JobStore extends ScheduleStore, ResultCacheStore, WorkflowStore {
  readonly backend: "sqlite" | "postgres";
  /**
   * Whether several processes share this store. Then claims honour `parallel` across all of them (at most
   * `parallel` items leased per job in all), and notices carry wake-ups, cancels and progress between them.
   */
  readonly shared: boolean;
  /** Sends a notice to every process on this store (absent on single-process backends). */
  publish?(notice: StoreNotice): Promise<void>;
  /** Receives other processes' notices; resolves to an unsubscribe function. */
  subscribe?(listener: (notice: StoreNotice) => void): Promise<() => Promise<void>>;

  // --- API side ---
  /**
   * Stores a job and its items. With `dependsOn` (job dependencies) it records what the job waits on in the
   * same write: a dependency not ended yet keeps it queued and never started (see nextRunnableJob) until it
   * ends; one that completed counts as met; one already failed or cancelled cancels the new job at once
   * (error "dependency <id> failed" / "... was cancelled") unless its onDependencyFailure is "run". Throws
   * UnknownDependencyError (src/domain/dependencies.ts), storing nothing, when a dependency does not exist
   * (never did, or was purged). On a shared store the dependencies' rows are read under a share lock, so a
   * dependency ending at the same moment on another node either sees the new job waiting, or is seen ended.
   */
  createJob(job: NewJob): Promise<void>;
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; total: number }>;
  countJobsByStatus(): Promise<Record<JobStatus, number>>;
  /**
   * Marks the job cancelled (and its queued items), unless it already ended. Like every end of a job (see
   * "Job dependencies" below), it releases the jobs waiting on it in the same write; with `cascade` (the
   * default) every job waiting on it is cancelled too, and theirs in turn, whatever their onDependencyFailure;
   * without, each follows its own rule.
   */
  cancelJob(id: string, now: number, cascade?: boolean): Promise<CancelOutcome>;
  /** A page of a job's items; `total` is -1 when `countTotal` is false. */
  listItems(jobId: string, filter: ItemFilter): Promise<{ items: ItemRecord[]; total: number }>;
  /** Sets the priority of a job that is queued or running; false when there is no such job or it ended. */
  setJobPriority(id: string, priority: number, now: number): Promise<boolean>;
  /** Shallow-merges keys into a job's metadata (e.g. links between a job and its retry). */
  mergeJobMetadata(id: string, patch: JsonObject): Promise<void>;
  /**
   * Ended jobs whose webhook (`metadata.webhook`, state `pending`) is due by `now` and not held by a lease:
   * ids, the longest-ended first.
   */
  dueWebhooks(now: number, limit: number): Promise<string[]>;
  /**
   * Takes the delivery of an ended job's due webhook until `leaseUntil` (sets `metadata.webhook.lease_owner`
   * and `lease_until`); false when it is not due or another process holds it. Several processes may try.
   */
  claimWebhook(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean>;
  /** Items waiting in the queue, all jobs together. */
  queueDepth(): Promise<number>;
  /** Resolves when the store can take a write now; throws why not (for /ready). */
  checkWritable(): Promise<void>;
  /**
   * Why the store refuses work right now (its data directory was deleted, its files cannot be written), as
   * last found by checkWritable; null when it does not. Runners start no claimed item meanwhile: its outcome
   * could not be recorded.
   */
  unavailable(): string | null;

  // --- worker side ---
  /**
   * The job with queued items due by `now` to run next, other than those listed: the highest priority first, then
   * within a priority the one served longest ago (never served first: see startJob, endTurn), then the oldest.
   * A queued job with no items whose `metadata.inputs.state` is `pending` (a workflow step fed by an earlier
   * step) counts as runnable: its runner resolves its inputs first (see fillJobItems).
   */
  nextRunnableJob(excludeIds: readonly string[], now: number): Promise<JobRecord | null>;
  /**
   * queued -> running (sets started_at once); a runner takes a worker slot for the job, which counts as
   * serving it now. False when the job is no longer queued or running.
   */
  startJob(id: string, now: number): Promise<boolean>;
  /**
   * A runner gave the job's slot up before it ended (preempted, or its fair turn was over): it counts as served
   * now, so jobs of its priority served longer ago go first.
   */
  endTurn(id: string, now: number): Promise<void>;
  /**
   * Fails a job that cannot run at all, and its queued items with `failure` (default error); never overwrites
   * a cancelled or ended job.
   */
  failJob(id: string, error: string, now: number, failure?: FailureReason): Promise<boolean>;
  /** Leases up to `limit` queued items of a running job that are due by `now` (see nextRetryAt), in order. */
  claimItems(
    jobId: string,
    owner: string,
    limit: number,
    leaseExpiresAt: number,
    now: number,
  ): Promise<ClaimedItem[]>;
  /**
   * On a shared store: the process that last found every slot of the job taken while items waited (its claim
   * got nothing, or it had a free worker slot and no other job: askForSlots), and when (epoch seconds); null
   * when none ever did. Absent on single-process backends.
   */
  slotsWanted?(jobId: string): Promise<{ owner: string; at: number } | null>;
  /**
   * On a shared store, for a process with a free worker slot and no runnable job: marks the job it would run
   * next, were its slots not all taken by other processes, as wanted by `owner` (see slotsWanted).
   */
  askForSlots?(excludeIds: readonly string[], owner: string, now: number): Promise<void>;
  /**
   * The earliest time (epoch seconds) a queued item of the job waits for (an automatic retry not due yet);
   * null when none waits.
   */
  nextRetryAt(jobId: string): Promise<number | null>;
  /** Extends every lease the owner holds; returns how many. */
  renewLeases(owner: string, leaseExpiresAt: number): Promise<number>;
  /** Writes outcomes of items this owner still holds (fenced by owner and attempt); returns those accepted. */
  recordOutcomes(
    jobId: string,
    owner: string,
    outcomes: ItemOutcome[],
    currentItem: string | null,
  ): Promise<ItemOutcome[]>;
  /** Gives items back to the queue without counting the attempt (graceful shutdown). */
  releaseItems(jobId: string, owner: string, keys: readonly number[]): Promise<number>;
  /** Owners that currently hold leases. */
  leaseOwners(): Promise<string[]>;
  /**
   * Requeues items whose lease expired or whose owner is known dead, each a try ended in `error` (after the
   * job's backoff, logged in attempts_log); fails those out of attempts.
   */
  sweepLeases(now: number, deadOwners: readonly string[]): Promise<LeaseSweep>;
  /** Ends a running job whose items are all final: completed, or failed with a count. Returns the end status. */
  finalizeJob(id: string, now: number): Promise<JobStatus | null>;
  /** Running jobs with no queued or running items left (e.g. a crash right before finalize). */
  idleRunningJobs(): Promise<string[]>;

  // --- job dependencies ---
  // Every call that ends a job (finalizeJob, failJob, cancelJob) also, in the same transaction, stops the
  // job's own waiting and releases the jobs waiting on it: a completed dependency is met; a failed or cancelled
  // one cancels each waiting job whose onDependencyFailure is "skip" (error "dependency <id> failed" / "...
  // was cancelled"), which ends it and so releases the jobs waiting on IT the same way, down the chain. A job
  // whose last dependency ended is runnable at once. Retention purges only ended jobs, so a job that others
  // still wait on is never purged; a purged dependency that someone still waits on (it cannot happen but by
  // hand) counts as completed.
  /** The jobs that depend on `id` (waiting or not), by id. */
  dependentsOf(id: string): Promise<string[]>;
  /**
   * The safety sweep: dependencies that ended (or are gone) while jobs still wait on them — up to `limit` —
   * are applied as at their end; returns their ids. Finds nothing unless something went wrong.
   */
  releaseEndedDependencies(now: number, limit: number): Promise<string[]>;

  // --- idempotency ---
  /**
   * Takes `key` for a new job `jobId` of a request with `fingerprint`, unless an unexpired holder (created at
   * or after `expiredBefore`) has it: then returns that holder, and takes nothing. Atomic across processes:
   * of concurrent submits with one key, exactly one takes it.
   */
  claimIdempotencyKey(
    key: string,
    fingerprint: string,
    jobId: string,
    now: number,
    expiredBefore: number,
  ): Promise<IdempotencyRecord | null>;
  /**
   * Hands a key whose holder `staleJobId` never came to be (its process died while storing it) to a new job;
   * false when someone else changed the key first.
   */
  takeOverIdempotencyKey(
    key: string,
    staleJobId: string,
    fingerprint: string,
    jobId: string,
    now: number,
  ): Promise<boolean>;
  /** Gives a key back (its job could not be stored), if `jobId` still holds it. */
  releaseIdempotencyKey(key: string, jobId: string): Promise<void>;
  /** Forgets keys created before `before`; returns how many. */
  dropExpiredIdempotencyKeys(before: number): Promise<number>;

  // --- retention ---
  /**
   * Deletes one ended job at once (it is gone from every listing, its idempotency keys are free again, and the
   * result cache forgets the results its items left);
   * its items follow in the background (dropPurgedItems). A job still queued or running is "not_ended"; an ended one whose claimed items are
   * still finishing (a cancel while they ran) is "finishing".
   */
  purgeJob(id: string): Promise<PurgeOutcome>;
  /**
   * Deletes up to `limit` ended jobs that ended before `endedBefore` (epoch seconds), only those in
   * `statuses` when given, oldest first, the way purgeJob does; returns their ids.
   */
  purgeEndedJobs(
    endedBefore: number,
    statuses: readonly JobStatus[] | null,
    limit: number,
  ): Promise<string[]>;
  /** Deletes up to `limit` items of purged jobs; returns how many (0: none left). */
  dropPurgedItems(limit: number): Promise<number>;
  /**
   * Gives some of the space of deleted rows back to the file system where the engine needs asking (SQLite);
   * true while there is more to give back.
   */
  reclaimSpace(): Promise<boolean>;

  close(): Promise<void>;
}
