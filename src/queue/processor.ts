import type { FieldIssue } from "../errors.js";
import type { JsonObject } from "../store/job-store.js";

/** What a processor sees of the job its item belongs to. */
export interface JobContext {
  id: string;
  type: string;
  options: JsonObject;
}

export interface ItemContext {
  job: JobContext;
  /** Aborted on cancel, on shutdown past the grace period, and on timeouts the processor sets itself. */
  signal: AbortSignal;
  /** host:pid of the process running the item. */
  workerId: string;
  /** Zero-based position of the item in the job. */
  seq: number;
  /** 1 on the first run, more when a lost lease sent the item back to the queue. */
  attempt: number;
  /** Whatever `prepareJob` returned for this job in this process. */
  session: unknown;
}

/**
 * An item's outcome. `fields` are merged into the item's entry of `result.results` next to the
 * item as submitted; `label` is the entry's `status` (default "success", "failed", "skipped").
 */
export interface ItemResult {
  status: "succeeded" | "failed" | "skipped";
  label?: string;
  error?: string | null;
  fields?: JsonObject;
}

export interface Processor {
  /** Extra per-item checks at submit time (beyond the route's schema); each issue becomes a 422 entry. */
  validateItem?(item: JsonObject, index: number): FieldIssue[];
  /** Extra checks of the job's options at submit time. */
  validateOptions?(options: JsonObject): FieldIssue[];
  /**
   * Runs once per job and process before any item (e.g. check that models exist). Throwing fails the job
   * at once with the error's message. The value returned is handed to every item as `session`.
   */
  prepareJob?(job: JobContext, signal: AbortSignal): Promise<unknown>;
  /** Releases whatever prepareJob built. */
  disposeJob?(job: JobContext, session: unknown): Promise<void>;
  processItem(item: JsonObject, ctx: ItemContext): Promise<ItemResult>;
}

/** Processors by job type. */
export class ProcessorRegistry {
  private readonly processors = new Map<string, Processor>();

  register(type: string, processor: Processor): void {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(type)) {
      throw new Error(`invalid job type ${JSON.stringify(type)}: use lowercase letters, digits and _`);
    }
    this.processors.set(type, processor);
  }

  get(type: string): Processor | undefined {
    return this.processors.get(type);
  }

  has(type: string): boolean {
    return this.processors.has(type);
  }

  types(): string[] {
    return [...this.processors.keys()].sort();
  }
}
