import { type FailureReason, failureOfError } from "../domain/failure.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { cancelledByUser, failedOutcome } from "../domain/outcome-rules.js";
import type { JobRecord } from "../domain/records.js";
import { itemStatusWord, type SuccessWord } from "../domain/statuses.js";
import { errorMessage } from "../errors.js";
import type { ClaimedItem, ItemOutcome, JobStore } from "../store/job-store.js";
import type { Logger } from "../util/logger.js";
import { type Clock, toSeconds } from "./clock.js";
import type { QueueEvents } from "./events.js";
import { successWordOf } from "./job-kind.js";
import type { JobContext, Processor, ProcessorRegistry } from "./processor.js";
import { ResultWriter } from "./result-writer.js";

export interface RunnerDeps {
  store: JobStore;
  registry: ProcessorRegistry;
  events: QueueEvents;
  clock: Clock;
  log: Logger;
  owner: string;
  workerId: string;
  leaseMs: number;
  flushMs: number;
  flushSize: number;
}

type StopReason = "cancelled" | "shutdown";

interface InFlight {
  item: ClaimedItem;
  controller: AbortController | null;
}

const YIELD_EVERY = 128;
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs one job's items in this process: claims chunks of up to `chunk_size`, keeps at most `parallel`
 * items in flight, commits outcomes in batches, and ends the job when nothing is left anywhere.
 */
export class JobRunner {
  private readonly controller = new AbortController();
  private stopClaiming = false;
  /**
   * Running items, each with its own abort controller, made the first time the processor reads its signal
   * (a shared job signal would collect one listener per item from libraries that never remove theirs).
   */
  private readonly inFlight = new Map<number, InFlight>();
  private readonly slotWaiters: (() => void)[] = [];
  private readonly toRelease: number[] = [];
  private readonly unstarted: ClaimedItem[] = [];
  /** How long each finished item ran, until its outcome is committed. */
  private readonly durations = new Map<number, number>();
  private readonly writer: ResultWriter;
  private readonly ctx: JobContext;
  /** What this job's result entries say on success. */
  private readonly successWord: SuccessWord;

  constructor(
    private readonly d: RunnerDeps,
    private readonly job: JobRecord,
  ) {
    this.ctx = {
      id: job.id,
      type: job.type,
      options: job.options,
      recordMetadata: (patch) => d.store.mergeJobMetadata(job.id, patch),
    };
    this.successWord = successWordOf(d.registry.kind(job.type));
    this.writer = new ResultWriter({
      store: d.store,
      jobId: job.id,
      owner: d.owner,
      flushMs: d.flushMs,
      flushSize: d.flushSize,
      leaseMs: d.leaseMs,
      log: d.log,
      onFlushed: (accepted, ids) => {
        for (const o of accepted) {
          const itemId = ids.get(o.seq) ?? String(o.seq);
          const durationSeconds = this.durations.get(o.seq);
          this.durations.delete(o.seq);
          d.events.emit("item:completed", {
            jobId: job.id,
            jobType: job.type,
            seq: o.seq,
            itemId,
            status: o.status,
            durationSeconds,
          });
        }
        d.events.emit("job:progress", { jobId: job.id });
      },
    });
  }

  get jobId(): string {
    return this.job.id;
  }

  /** Row keys of the items this runner has started and not yet finished. */
  get runningKeys(): number[] {
    return [...this.inFlight.values()].map((f) => f.item.key);
  }

  /** The user cancelled the job: abort running items now; claimed items never start. */
  cancel(): void {
    this.stopClaiming = true;
    this.abort("cancelled");
  }

  /** Shutdown, first step: claim nothing more; running items go on. */
  drain(): void {
    this.stopClaiming = true;
    this.wakeSlots();
  }

  /** Shutdown past the grace period: abort running items; they go back to the queue. */
  interrupt(): void {
    this.stopClaiming = true;
    this.abort("shutdown");
  }

  /** Shutdown when items ignore their signal: give their leases back so another run picks them up. */
  async forceRelease(): Promise<void> {
    const keys = this.runningKeys;
    this.inFlight.clear();
    if (keys.length > 0) await this.d.store.releaseItems(this.job.id, this.d.owner, keys);
  }

  private abort(reason: StopReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    for (const f of this.inFlight.values())
      if (f.controller && !f.controller.signal.aborted) f.controller.abort(reason);
    this.wakeSlots();
  }

  private get stopReason(): StopReason | null {
    return this.controller.signal.aborted ? (this.controller.signal.reason as StopReason) : null;
  }

  private nowS(): number {
    return toSeconds(this.d.clock.now());
  }

  /** Items started since this runner last let the event loop turn. */
  private startedSinceYield = 0;

  async run(): Promise<void> {
    const { store, registry, events } = this.d;
    const job = this.job;
    const processor = registry.get(job.type);
    if (!processor) {
      await this.fail(`No processor registered for job type: ${job.type}`);
      return;
    }
    if (!(await store.startJob(job.id, this.nowS()))) return;
    events.emit("job:started", { jobId: job.id });

    let session: unknown;
    if (processor.prepareJob) {
      try {
        session = await processor.prepareJob(this.ctx, this.controller.signal);
      } catch (e: unknown) {
        if (this.stopReason === null) await this.fail(errorMessage(e), failureOfError(e));
        return;
      }
    }
    try {
      await this.claimAndRun(processor, session);
    } finally {
      await this.settleUnstarted();
      await this.writer.close();
      if (processor.disposeJob) {
        await processor.disposeJob(this.ctx, session).catch((e: unknown) => {
          this.d.log.warn(`job ${job.id}: dispose failed: ${errorMessage(e)}`);
        });
      }
    }
    if (this.stopReason === null && !this.stopClaiming) {
      const status = await store.finalizeJob(job.id, this.nowS());
      if (status) events.emit("job:finished", { jobId: job.id, status });
    }
  }

  private async fail(error: string, failure?: FailureReason): Promise<void> {
    if (await this.d.store.failJob(this.job.id, error, this.nowS(), failure)) {
      this.d.log.warn(`job ${this.job.id} failed: ${error}`);
      this.d.events.emit("job:finished", { jobId: this.job.id, status: "failed" });
    }
  }

  private async claimAndRun(processor: Processor, session: unknown): Promise<void> {
    const { store, clock, owner, leaseMs } = this.d;
    while (!this.stopClaiming) {
      const now = clock.now();
      const chunk = await store.claimItems(
        this.job.id,
        owner,
        this.job.chunkSize,
        toSeconds(now + leaseMs),
        toSeconds(now),
      );
      if (chunk.length === 0) {
        // Nothing to claim now: none left, or (on a shared store) every slot of the job is taken. While our own
        // items run, wait for one to finish and look again; otherwise this runner is done.
        if (this.inFlight.size === 0) break;
        await this.slotChange();
        continue;
      }
      for (let i = 0; i < chunk.length; i++) {
        // Fast items settle in microtasks; yield now and then so HTTP and timers stay responsive. The count
        // runs across chunks: with small chunks a count per chunk would never reach it.
        if (++this.startedSinceYield >= YIELD_EVERY) {
          this.startedSinceYield = 0;
          await yieldToEventLoop();
        }
        await this.slot();
        await this.storeUsable();
        if (this.stopClaiming) {
          this.unstarted.push(...chunk.slice(i));
          break;
        }
        this.start(chunk[i]!, processor, session);
      }
    }
    while (this.inFlight.size > 0) await this.slotChange();
  }

  /**
   * Waits while the store refuses work (a deleted data directory, files that cannot be written): an item
   * started now could not record its outcome, and its side effects (a merge, a file written) would happen again
   * once the data is back. Its lease lapses meanwhile, or the process is restarted.
   */
  private async storeUsable(): Promise<void> {
    let said = false;
    while (!this.stopClaiming) {
      const why = this.d.store.unavailable();
      if (why === null) return;
      if (!said)
        this.d.log.warn(`job ${this.job.id}: no item starts while the store is unavailable (${why})`);
      said = true;
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), this.slotChange()]);
    }
  }

  /** Items claimed but never started: cancelled with the job, or handed back on shutdown. */
  private async settleUnstarted(): Promise<void> {
    const items = this.unstarted.splice(0);
    if (this.stopReason === "cancelled") {
      const at = this.nowS();
      const { status, error } = cancelledByUser();
      for (const item of items) {
        const outcome = {
          key: item.key,
          seq: item.seq,
          attempt: item.attempt,
          status,
          result: null,
          error,
          finishedAt: at,
        };
        this.writer.add(outcome, item.itemId, { ran: false });
      }
      return;
    }
    const keys = [...items.map((i) => i.key), ...this.toRelease.splice(0)];
    if (keys.length > 0) await this.d.store.releaseItems(this.job.id, this.d.owner, keys);
  }

  private start(item: ClaimedItem, processor: Processor, session: unknown): void {
    const entry: InFlight = { item, controller: null };
    this.inFlight.set(item.seq, entry);
    void this.runItem(entry, processor, session).finally(() => {
      // Only this run's entry: a later run of the same item (requeued while this one was cut off) has its own.
      if (this.inFlight.get(item.seq) === entry) this.inFlight.delete(item.seq);
      this.wakeSlots();
    });
  }

  private async runItem(entry: InFlight, processor: Processor, session: unknown): Promise<void> {
    const item = entry.item;
    const jobSignal = this.controller.signal;
    const started = performance.now();
    let result: ItemResult | null = null;
    let thrown: unknown = null;
    try {
      result = await processor.processItem(item.payload, {
        job: this.ctx,
        get signal() {
          if (entry.controller === null) {
            entry.controller = new AbortController();
            if (jobSignal.aborted) entry.controller.abort(jobSignal.reason);
          }
          return entry.controller.signal;
        },
        workerId: this.d.workerId,
        seq: item.seq,
        attempt: item.attempt,
        session,
      });
    } catch (e: unknown) {
      thrown = e;
    }
    if (!this.inFlight.has(item.seq)) return; // force-released: the lease is gone
    const reason = this.stopReason;
    if (reason === "shutdown") {
      this.toRelease.push(item.key);
      return;
    }
    this.durations.set(item.seq, (performance.now() - started) / 1000);
    this.writer.add(this.outcome(item, result, thrown, reason), item.itemId);
  }

  private outcome(
    item: ClaimedItem,
    result: ItemResult | null,
    thrown: unknown,
    reason: StopReason | null,
  ): ItemOutcome {
    const out: ItemOutcome = {
      key: item.key,
      seq: item.seq,
      attempt: item.attempt,
      status: "failed",
      result: null,
      error: null,
      finishedAt: this.nowS(),
    };
    if (reason === "cancelled" && (result === null || result.status === "failed")) {
      Object.assign(out, cancelledByUser());
    } else if (result === null) {
      Object.assign(out, failedOutcome(errorMessage(thrown), failureOfError(thrown)));
    } else {
      const fields: JsonObject = result.fields ? Object.assign({}, result.fields) : {};
      fields.status = itemStatusWord(result.status, this.successWord);
      if (result.status === "failed") fields.failure = result.failure ?? "error";
      out.status = result.status;
      out.error = result.error ?? null;
      if (out.error !== null) fields.error = out.error;
      out.result = fields;
    }
    return out;
  }

  private slot(): Promise<void> {
    if (this.inFlight.size < this.job.parallel || this.stopClaiming) return Promise.resolve();
    return this.slotChange().then(() => this.slot());
  }

  private slotChange(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private wakeSlots(): void {
    for (const w of this.slotWaiters.splice(0)) w();
  }
}
