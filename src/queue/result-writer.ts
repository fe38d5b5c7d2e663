import { errorMessage } from "../errors.js";
import type { ItemOutcome, JobStore } from "../store/job-store.js";
import type { Logger } from "../util/logger.js";

export interface ResultWriterOptions {
  store: JobStore;
  jobId: string;
  owner: string;
  /** Flush once this many outcomes wait. */
  flushSize: number;
  /** Flush at the latest this long after the first waiting outcome. */
  flushMs: number;
  /** How long the items stay ours without news: a failed write is tried again for up to this long. */
  leaseMs: number;
  log: Logger;
  /** Called after each batch with the outcomes the store accepted. */
  onFlushed: (accepted: ItemOutcome[], itemIds: Map<number, string>) => void;
}

/** The first wait after a failed write; it doubles with each try, up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5_000;

/**
 * Commits item outcomes in small batches: one transaction per batch, never one per item nor one per job.
 * A failed write keeps its batch and tries again with backoff, for up to one lease period of waiting (in a
 * worker pool the store itself already waits out transient faults). A batch still refused after that, or once
 * the writer is closed, is logged and dropped: its items stay leased to this owner, and the lease sweep hands
 * them out again as a new attempt once their leases lapse, which is only when this process stops renewing
 * them (its heartbeat renews every lease it holds while any of its jobs runs).
 */
export class ResultWriter {
  private pending: ItemOutcome[] = [];
  private itemIds = new Map<number, string>();
  private lastItem: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly o: ResultWriterOptions) {}

  /**
   * Queues an outcome. Only an item that ran (`ran`) becomes the job's `current_item`: one claimed and
   * cancelled before it started never does.
   */
  add(outcome: ItemOutcome, itemId: string, o: { ran: boolean } = { ran: true }): void {
    this.pending.push(outcome);
    this.itemIds.set(outcome.seq, itemId);
    if (o.ran) this.lastItem = itemId;
    if (this.pending.length >= this.o.flushSize) void this.flush();
    else if (this.timer === null) this.timer = setTimeout(() => void this.flush(), this.o.flushMs);
  }

  /** Whether outcomes wait to be committed. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Commits what waits; resolves when it (and every earlier batch) is written. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    const ids = this.itemIds;
    const current = this.lastItem;
    this.pending = [];
    this.itemIds = new Map();
    if (batch.length > 0) this.chain = this.chain.then(() => this.write(batch, ids, current));
    return this.chain;
  }

  private async write(batch: ItemOutcome[], ids: Map<number, string>, current: string | null): Promise<void> {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const accepted = await this.o.store.recordOutcomes(this.o.jobId, this.o.owner, batch, current);
        this.o.onFlushed(accepted, ids);
        return;
      } catch (e: unknown) {
        const delay = Math.min(RETRY_FIRST_MS * 2 ** (attempt - 1), RETRY_MAX_MS);
        if (this.closed || waited + delay > this.o.leaseMs) {
          this.o.log.error(
            `job ${this.o.jobId}: could not write ${batch.length} results: ${errorMessage(e)}`,
          );
          return;
        }
        this.o.log.warn(
          `job ${this.o.jobId}: result write failed (attempt ${attempt}), retrying: ${errorMessage(e)}`,
        );
        await new Promise((r) => setTimeout(r, delay));
        waited += delay;
      }
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
}
