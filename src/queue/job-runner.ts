import { type FailureReason, failureOfError } from "../domain/failure.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { cancelledByUser, failedOutcome, skippedForDependency } from "../domain/outcome-rules.js";
import type { JobRecord } from "../domain/records.js";
import { type RetryPolicy, retryDelayAfter, retryPolicyOf } from "../domain/retry-policy.js";
import { SLOT_ASK_SECONDS, slotShare } from "../domain/slot-asks.js";
import { itemStatusWord, type SuccessWord } from "../domain/statuses.js";
import { errorMessage } from "../errors.js";
import type { ClaimedItem, ItemOutcome, JobStore } from "../store/job-store.js";
import type { Logger } from "../util/logger.js";
import { type Clock, toSeconds } from "./clock.js";
import type { QueueEvents } from "./events.js";
import { successWordOf } from "./job-kind.js";
import type { ItemContext, JobContext, Processor, ProcessorRegistry } from "./processor.js";
import { CACHED_FIELD, JobResultCache } from "./result-cache.js";
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
  /** The job gave its slot up (yieldSlot): it stays running, its items wait for the next runner. */
  private yielded = false;
  /** The job's priority as this process knows it (a PATCH changes it while the job runs). */
  priority: number;
  /** When this runner took its worker slot (ms, the runner's clock). */
  readonly heldSince: number;
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
  /** The job's automatic retries (metadata.retry). */
  private readonly retryPolicy: RetryPolicy;
  /** Items sent back for a retry whose outcome is not written yet: once it is, they may be claimable. */
  private retriesUnwritten = false;
  /** The result cache, for a job with `cache: true` whose processor keys its items. */
  private cache: JobResultCache | null = null;

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
    this.retryPolicy = retryPolicyOf(job.metadata, job.maxAttempts);
    this.priority = job.priority;
    this.heldSince = d.clock.now();
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
          if (o.retry) {
            this.durations.delete(o.seq);
            continue;
          }
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
            ...(o.result?.[CACHED_FIELD] === true ? { cached: true } : {}),
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

  /**
   * Gives the job's worker slot up to another job (a higher priority, or the end of a fair turn): no chunk is
   * claimed any more, running items finish and record their outcome, claimed items not yet started go back
   * to the queue without counting an attempt. Unlike drain and cancel the job is not ended: it stays running
   * and the next free slot resumes it.
   */
  yieldSlot(): void {
    this.yielded = true;
    this.stopClaiming = true;
    this.wakeSlots();
  }

  /** Whether yieldSlot was called: the slot frees up once the running items have finished. */
  get yielding(): boolean {
    return this.yielded;
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
    this.cache = JobResultCache.forJob(this.d, job, processor);
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
    if (this.yielded) await store.endTurn(job.id, this.nowS());
    // A yielded job ends here too when its last items were the ones running (finalizeJob ends nothing else).
    if (this.stopReason === null && (!this.stopClaiming || this.yielded)) {
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
      const limit = this.claimLimit();
      if (limit === 0) {
        // Another node asked for slots of the job and this one holds its share: leave the rest to it, and look
        // again when one of ours ends (its ask may be answered by then).
        await this.slotChange();
        await this.lookForContention();
        continue;
      }
      // A job with item dependencies writes what ended before it claims: the dependants it releases are then
      // claimable in this chunk (else chunks shrink to what the last flush happened to release).
      if (this.job.itemDependencies && this.writer.hasPending) await this.writer.flush();
      const now = clock.now();
      const chunk = await store.claimItems(
        this.job.id,
        owner,
        limit,
        toSeconds(now + leaseMs),
        toSeconds(now),
      );
      if (chunk.length === 0) {
        // On a shared store our finished items hold their slots until their outcomes are written: write them and
        // look again, once any other node that found the slots all taken has had its turn at them.
        if (store.shared && this.writer.hasPending) {
          await this.writer.flush();
          await this.lookForContention();
          continue;
        }
        // Nothing to claim now: none left, or (on a shared store) every slot of the job is taken. While our own
        // items run, wait for one to finish and look again. Items sent back for a retry are claimable once
        // written (at once with no backoff): write them and look once more. Otherwise this runner is done; items
        // whose retry is not due yet wait in the queue without a slot (the pool comes back at their time).
        // Items of a job with dependencies wait for the outcomes of others: once written, some may be queued.
        if (this.job.itemDependencies && this.writer.hasPending) continue;
        if (this.inFlight.size === 0) {
          if (!this.retriesUnwritten) break;
          this.retriesUnwritten = false;
          await this.writer.flush();
          continue;
        }
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
        const item = chunk[i]!;
        // An item whose dependency did not succeed is not run: it takes no slot.
        if (item.depFailure === undefined) {
          await this.slot();
          await this.storeUsable();
        }
        if (this.stopClaiming) {
          this.unstarted.push(...chunk.slice(i));
          break;
        }
        if (item.depFailure === undefined) this.start(item, processor, session);
        else this.skipForDependency(item, item.depFailure);
      }
    }
    while (this.inFlight.size > 0) await this.slotChange();
  }

  /**
   * How many items the next claim may take: a chunk, but while another node waits for slots of the job
   * (contended), no more than this node's share of `parallel` (slotShare), counting those it runs.
   */
  private claimLimit(): number {
    if (!this.contended) return this.job.chunkSize;
    return Math.min(this.job.chunkSize, Math.max(0, slotShare(this.job.parallel) - this.inFlight.size));
  }

  /**
   * Whether another node found every slot of the job taken a moment ago (its claim got nothing): then this
   * runner, whose results have just freed slots, leaves it room (claimLimit) and wakes it (job:slots), instead
   * of taking back every slot it frees — without this, the node that first filled a job's slots would keep the
   * job to itself. An ask holds for SLOT_ASK_SECONDS (src/domain/slot-asks.ts).
   */
  private async lookForContention(): Promise<void> {
    const wanted = await this.d.store.slotsWanted?.(this.job.id);
    const contended =
      wanted !== null &&
      wanted !== undefined &&
      wanted.owner !== this.d.owner &&
      this.nowS() - wanted.at <= SLOT_ASK_SECONDS;
    if (contended && !this.contended) this.d.events.emit("job:slots", { jobId: this.job.id });
    (await import("node:fs")).appendFileSync(
      `/tmp/ho-${process.pid}.log`,
      `${Date.now()} look ${JSON.stringify(wanted)} now=${this.nowS()} contended=${contended} inflight=${this.inFlight.size}\n`,
    );
    this.contended = contended;
  }

  /** See lookForContention. */
  private contended = false;

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

  /** Items claimed but never started: cancelled with the job, or handed back (shutdown, slot yielded). */
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

  /** Records an item skipped for a dependency that did not succeed, as if its processor had said so. */
  private skipForDependency(item: ClaimedItem, error: string): void {
    const outcome: ItemOutcome = {
      key: item.key,
      seq: item.seq,
      attempt: item.attempt,
      ...skippedForDependency(error),
      finishedAt: this.nowS(),
    };
    this.writer.add(outcome, item.itemId);
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
      const ctx: ItemContext = {
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
      };
      result = this.cache
        ? await this.cache.answer(item.payload, ctx)
        : await processor.processItem(item.payload, ctx);
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
      const failure = failureOfError(thrown);
      Object.assign(out, failedOutcome(errorMessage(thrown), failure));
      this.retryIfDue(out, failure);
    } else {
      const fields: JsonObject = result.fields ? Object.assign({}, result.fields) : {};
      fields.status = itemStatusWord(result.status, this.successWord);
      if (result.status === "failed") fields.failure = result.failure ?? "error";
      out.status = result.status;
      out.error = result.error ?? null;
      if (out.error !== null) fields.error = out.error;
      out.result = fields;
      if (result.status === "failed" && reason === null) this.retryIfDue(out, result.failure ?? "error");
    }
    return out;
  }

  /** Sends a failed try back to the queue when the job's retry policy says so (see retry-policy.ts). */
  private retryIfDue(out: ItemOutcome, failure: FailureReason): void {
    const delay = retryDelayAfter(this.retryPolicy, out.attempt, failure);
    if (delay === null) return;
    const entry = { attempt: out.attempt, error: out.error, failure, finished_at: out.finishedAt };
    out.retry = { notBefore: out.finishedAt + delay, entry };
    this.retriesUnwritten = true;
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
