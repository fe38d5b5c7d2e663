import { createHash } from "node:crypto";
import { canonicalJson } from "../domain/canonical-json.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { errorMessage } from "../errors.js";
import type { ResultCacheStore } from "../store/result-cache-store.js";
import type { Logger } from "../util/logger.js";
import { type Clock, toSeconds } from "./clock.js";
import type { ItemContext, Processor } from "./processor.js";

/** How long a result answers for its key unless the job says (`cache_ttl_seconds`): a day. */
export const CACHE_TTL_DEFAULT_SECONDS = 86_400;
/** The longest `cache_ttl_seconds` accepted: 30 days. */
export const CACHE_TTL_MAX_SECONDS = 30 * 86_400;

/** The result fields that say an item was answered from the cache, and by which job's run. */
export const CACHED_FIELD = "cached";
export const CACHED_FROM_FIELD = "cached_from";

/** The options that steer the cache itself, never part of an item's key. */
export const CACHE_OPTION_NAMES: readonly string[] = ["cache", "cache_ttl_seconds"];

/** How long a job's results are kept for its key; null when the job does not use the cache. */
export function cacheTtlOf(options: JsonObject): number | null {
  if (options.cache !== true) return null;
  const ttl = options.cache_ttl_seconds;
  return typeof ttl === "number" && ttl > 0 ? ttl : CACHE_TTL_DEFAULT_SECONDS;
}

/** sha256 (hex) of a job type and an item's cache key, however the key's fields are ordered. */
export function cacheKeyHash(jobType: string, key: JsonObject): string {
  return createHash("sha256")
    .update(`${jobType}\n${canonicalJson(key)}`)
    .digest("hex");
}

/** An earlier run's result as the answer of an item: its fields, marked with the job that ran it. */
function cachedAnswer(fields: JsonObject, fromJob: string): ItemResult {
  const from = typeof fields[CACHED_FROM_FIELD] === "string" ? fields[CACHED_FROM_FIELD] : fromJob;
  return {
    status: "succeeded",
    error: null,
    fields: { ...fields, [CACHED_FIELD]: true, [CACHED_FROM_FIELD]: from },
  };
}

export interface ResultCacheDeps {
  store: ResultCacheStore;
  clock: Clock;
  log: Logger;
}

/**
 * The result cache as one job's runner sees it: an item whose key has a result kept within the TTL is answered
 * from it at once; otherwise it runs, and a success is kept (failures never are). Items of the job with one
 * key run once: the others wait for the first and take its result (if it failed, they run themselves).
 */
export class JobResultCache {
  /** Runs of this job under way, by key hash. */
  private readonly pending = new Map<string, Promise<ItemResult | null>>();

  private constructor(
    private readonly d: ResultCacheDeps,
    private readonly job: { id: string; type: string },
    private readonly processor: Processor & Required<Pick<Processor, "cacheKey">>,
    private readonly ttlSeconds: number,
  ) {}

  /** The cache for a job's items; null when the job does not ask for it or its processor cannot key items. */
  static forJob(
    d: ResultCacheDeps,
    job: { id: string; type: string; options: JsonObject },
    processor: Processor,
  ): JobResultCache | null {
    const ttl = cacheTtlOf(job.options);
    if (ttl === null || !processor.cacheKey) return null;
    return new JobResultCache(d, job, processor as JobResultCache["processor"], ttl);
  }

  /** The item's result: from the cache, from an identical item of this job, or by running it. */
  async answer(item: JsonObject, ctx: ItemContext): Promise<ItemResult> {
    const run = () => this.processor.processItem(item, ctx);
    const keyHash = () => this.keyHashOf(item, ctx);
    const hash = await keyHash();
    if (hash === null) return run();
    const first = this.pending.get(hash);
    if (first) {
      const r = await first.catch(() => null);
      return r ? cachedAnswer(r.fields ?? {}, this.job.id) : run();
    }
    const outcome = this.lookupOrRun(hash, run, keyHash);
    const reusable = outcome.then((o) => o.reusable);
    reusable.catch(() => undefined); // a run that threw: its waiters run themselves
    this.pending.set(hash, reusable);
    try {
      return (await outcome).result;
    } finally {
      // Later items with this key find the kept result in the store.
      if (this.pending.get(hash) === reusable) this.pending.delete(hash);
    }
  }

  /** The hash of the item's key as its files are now; null when it has none (the run reports why). */
  private async keyHashOf(item: JsonObject, ctx: ItemContext): Promise<string | null> {
    try {
      const key = await this.processor.cacheKey(item, ctx);
      return key === null ? null : cacheKeyHash(this.job.type, key);
    } catch {
      return null; // e.g. a path outside the root
    }
  }

  private now(): number {
    return toSeconds(this.d.clock.now());
  }

  /**
   * The kept result for `hash`, or the item's own run. A success is kept, and answers the job's identical items
   * (`reusable`), only when the item's key is the same after the run: a file changed while it ran was read in
   * some state the key does not name.
   */
  private async lookupOrRun(
    hash: string,
    run: () => Promise<ItemResult>,
    keyHashNow: () => Promise<string | null>,
  ): Promise<{ result: ItemResult; reusable: ItemResult | null }> {
    const { store, log } = this.d;
    const hit = await store.findCachedResult(hash, this.now()).catch((e: unknown) => {
      log.warn(`job ${this.job.id}: result cache lookup failed, the item runs: ${errorMessage(e)}`);
      return null;
    });
    if (hit) {
      const result = cachedAnswer(hit.result, hit.jobId);
      return { result, reusable: result };
    }
    const r = await run();
    if (r.status !== "succeeded") return { result: r, reusable: null };
    if ((await keyHashNow()) !== hash) {
      log.warn(`job ${this.job.id}: a file the item read changed while it ran: its result is not cached`);
      return { result: r, reusable: null };
    }
    const at = this.now();
    await store
      .saveCachedResult({
        keyHash: hash,
        result: r.fields ?? {},
        jobId: this.job.id,
        createdAt: at,
        expiresAt: at + this.ttlSeconds,
      })
      .catch((e: unknown) => log.warn(`job ${this.job.id}: result not cached: ${errorMessage(e)}`));
    return { result: r, reusable: r };
  }
}
