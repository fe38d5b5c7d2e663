import type { ItemResult } from "../domain/item-result.js";
import { isJobType } from "../domain/job-type.js";
import type { JsonObject } from "../domain/json.js";
import { ConfigError, type FieldIssue } from "../errors.js";
import type { JobKind } from "./job-kind.js";

/** What a processor sees of the job its item belongs to. */
export interface JobContext {
  id: string;
  type: string;
  options: JsonObject;
  /** Adds to the job's `metadata` (merged into what is there), e.g. where its tasks started from. */
  recordMetadata(patch: JsonObject): Promise<void>;
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

export interface Processor {
  /**
   * Extra per-item checks at submit time (beyond the route's schema), given the job's options; each issue
   * becomes a 422 entry.
   */
  validateItem?(item: JsonObject, index: number, options: JsonObject): FieldIssue[];
  /** Extra checks of the job's options at submit time. */
  validateOptions?(options: JsonObject): FieldIssue[];
  /**
   * Checks at submit time that ask something outside (e.g. whether the models named exist), run once the
   * synchronous checks pass. Issues are 422 entries (locations relative to the body); a check that cannot
   * tell (the outside does not answer) returns none and lets the job wait.
   */
  checkSubmit?(options: JsonObject): Promise<FieldIssue[]>;
  /**
   * Runs once per job and process before any item (e.g. check that models exist). Throwing fails the job
   * at once with the error's message. The value returned is handed to every item as `session`.
   */
  prepareJob?(job: JobContext, signal: AbortSignal): Promise<unknown>;
  /** Releases whatever prepareJob built. */
  disposeJob?(job: JobContext, session: unknown): Promise<void>;
  processItem(item: JsonObject, ctx: ItemContext): Promise<ItemResult>;
  /**
   * For a job with `cache: true` (see result-cache.ts): what decides the item's outcome — the options that
   * change it, the item, and the content hash of every file it reads — asked before the item runs. Items of
   * one job type with equal keys are answered by one run. null: this item is not answered from the cache (it
   * runs, and its result is not kept). A processor without it never uses the cache.
   */
  cacheKey?(item: JsonObject, ctx: ItemContext): Promise<JsonObject | null>;
}

function assertJobType(type: string): void {
  if (!isJobType(type))
    throw new ConfigError(`invalid job type ${JSON.stringify(type)}: use lowercase letters, digits and _`);
}

/** Processors by job type, and the declared kinds (schemas, defaults, submit routes) of job types. */
export class ProcessorRegistry {
  private readonly processors = new Map<string, Processor>();
  private readonly declared = new Map<string, JobKind>();

  register(type: string, processor: Processor): void {
    assertJobType(type);
    this.processors.set(type, processor);
  }

  /** Declares what a job type accepts (a later declaration of the same type replaces the earlier one). */
  declare(kind: JobKind): void {
    assertJobType(kind.type);
    this.declared.set(kind.type, kind);
  }

  kind(type: string): JobKind | undefined {
    return this.declared.get(type);
  }

  /** Declared kinds, in declaration order. */
  kinds(): JobKind[] {
    return [...this.declared.values()];
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
