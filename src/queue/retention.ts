import type { JobStatus } from "../domain/statuses.js";
import { errorMessage, JobStateError, NotFoundError } from "../errors.js";
import type { JobStore, PurgeOutcome } from "../store/job-store.js";
import type { Logger } from "../util/logger.js";
import type { QueueEvents } from "./events.js";
import { IDEMPOTENCY_TTL_SECONDS } from "./idempotency.js";

/** How often the sweep looks for jobs past their age. */
const SWEEP_EVERY_MS = 10 * 60_000;
/** Jobs deleted per transaction, and items per transaction: each is short, so claims and writes go between. */
const JOBS_PER_STEP = 100;
const ITEMS_PER_STEP = 2_000;
/** Expired result cache entries deleted per statement. */
const CACHE_ENTRIES_PER_STEP = 1_000;

export interface RetentionOptions {
  /** Ended jobs older than this are deleted; 0 keeps everything. */
  retentionDays: number;
  log: Logger;
  /** Seconds since the epoch (a test's clock). */
  now?: () => number;
}

/** What a clean-up deleted. */
export interface CleanupResult {
  /** Jobs deleted (their items follow in the background). */
  deleted: number;
  job_ids: string[];
}

/**
 * Deletes ended jobs: those past `retentionDays` (a sweep at start and every ten minutes), those a user asks
 * for (`POST /batch/cleanup`), one at a time (`DELETE /batch/jobs/{id}?purge=true`). A job's row goes in one
 * short transaction, so it is gone from every listing at once; its items follow in small steps with the event
 * loop turning between them, so a 100,000-item job never holds the queue. Other processes on the same store,
 * and this one's processors, hear of each deletion (`job:purged`) and remove the job's own files.
 */
export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  /** A deletion came while the items of earlier ones were being dropped: drop again after. */
  private again = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly store: JobStore,
    private readonly events: QueueEvents,
    private readonly options: RetentionOptions,
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** Sweeps now and then every ten minutes; finishes deletions a crash left. */
  start(): void {
    this.stopped = false;
    this.drain();
    const sweep = () => {
      this.sweep().catch((e: unknown) => this.options.log.warn(`retention: ${errorMessage(e)}`));
    };
    sweep();
    this.timer = setInterval(sweep, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.draining;
  }

  /**
   * Deletes the ended jobs past the retention age, forgets expired idempotency keys, and drops expired result
   * cache entries (whatever the retention age: an expired entry answers nothing).
   */
  async sweep(): Promise<CleanupResult> {
    await this.store.dropExpiredIdempotencyKeys(this.now() - IDEMPOTENCY_TTL_SECONDS);
    await this.dropExpiredCache();
    if (this.options.retentionDays <= 0) return { deleted: 0, job_ids: [] };
    return this.cleanup(this.options.retentionDays, null, "retention");
  }

  /** Deletes the jobs that ended more than `olderThanDays` ago (only those in `statuses`, when given). */
  async cleanup(
    olderThanDays: number,
    statuses: readonly JobStatus[] | null,
    why: "retention" | "cleanup" = "cleanup",
  ): Promise<CleanupResult> {
    const before = this.now() - olderThanDays * 86_400;
    const ids: string[] = [];
    for (;;) {
      const step = await this.store.purgeEndedJobs(before, statuses, JOBS_PER_STEP);
      ids.push(...step);
      if (step.length > 0) this.purged(step);
      if (step.length < JOBS_PER_STEP || this.stopped) break;
      await turn();
    }
    if (ids.length > 0)
      this.options.log.info(
        `${why}: deleted ${ids.length} job(s) that ended more than ${olderThanDays} day(s) ago${statuses ? ` (${statuses.join(", ")})` : ""}: ${ids.slice(0, 5).join(", ")}${ids.length > 5 ? ", …" : ""}`,
      );
    // A workflow goes with the last of its jobs (one made before the cut-off, whose jobs are all stored).
    for (;;) {
      const gone = await this.store.dropEmptyWorkflows(before, JOBS_PER_STEP);
      if (gone.length > 0)
        this.options.log.info(`${why}: deleted ${gone.length} workflow(s) with no job left`);
      if (gone.length < JOBS_PER_STEP || this.stopped) break;
      await turn();
    }
    return { deleted: ids.length, job_ids: ids };
  }

  /** Drops expired result cache entries, a batch per statement with the event loop turning between. */
  async dropExpiredCache(): Promise<number> {
    const now = this.now();
    let dropped = 0;
    while (!this.stopped) {
      const n = await this.store.dropExpiredCachedResults(now, CACHE_ENTRIES_PER_STEP);
      dropped += n;
      if (n < CACHE_ENTRIES_PER_STEP) break;
      await turn();
    }
    return dropped;
  }

  /** Deletes one ended job now. */
  async purge(jobId: string): Promise<void> {
    const out: PurgeOutcome = await this.store.purgeJob(jobId);
    if (out === "not_found") throw new NotFoundError("Job not found");
    if (out === "not_ended")
      throw new JobStateError("Job has not ended: cancel it first (DELETE without purge), then purge it");
    if (out === "finishing")
      throw new JobStateError(
        "Job's last running items are still finishing after its cancel: try again in a moment",
      );
    this.options.log.info(`job ${jobId} deleted (purge)`);
    this.purged([jobId]);
  }

  private purged(jobIds: string[]): void {
    this.events.emit("job:purged", { jobIds });
    this.drain();
  }

  /** Deletes purged jobs' items in steps, then gives the space back; one run at a time. */
  private drain(): void {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          let dropped = 0;
          while (!this.stopped) {
            const n = await this.store.dropPurgedItems(ITEMS_PER_STEP);
            dropped += n;
            if (n === 0) break;
            await turn();
          }
          if (dropped > 0) while (!this.stopped && (await this.store.reclaimSpace())) await turn();
        } while (this.again && !this.stopped);
      } catch (e: unknown) {
        this.options.log.warn(
          `retention: deleting purged jobs' items: ${errorMessage(e)} (tried again later)`,
        );
      } finally {
        this.draining = null;
      }
    })();
  }
}

/** Lets the event loop turn (requests, claims, outcomes) between two steps. */
const turn = () => new Promise<void>((r) => setImmediate(r));
