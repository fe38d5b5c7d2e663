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
  private readonly pending = new Map<string, Promise<ItemResult>>();

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
    let key: JsonObject | null;
    try {
      key = await this.processor.cacheKey(item, ctx);
    } catch {
      key = null; // e.g. a path outside the root: the run reports it
    }
    if (key === null) return run();
    const hash = cacheKeyHash(this.job.type, key);
    const first = this.pending.get(hash);
    if (first) {
      const r = await first.catch(() => null);
      return r?.status === "succeeded" ? cachedAnswer(r.fields ?? {}, this.job.id) : run();
    }
    const mine = this.lookupOrRun(hash, run);
    this.pending.set(hash, mine);
    try {
      return await mine;
    } finally {
      // Later items with this key find the kept result in the store.
      if (this.pending.get(hash) === mine) this.pending.delete(hash);
    }
  }

  private now(): number {
    return toSeconds(this.d.clock.now());
  }

  private async lookupOrRun(hash: string, run: () => Promise<ItemResult>): Promise<ItemResult> {
    const { store, log } = this.d;
    const hit = await store.findCachedResult(hash, this.now()).catch((e: unknown) => {
      log.warn(`job ${this.job.id}: result cache lookup failed, the item runs: ${errorMessage(e)}`);
      return null;
    });
    if (hit) return cachedAnswer(hit.result, hit.jobId);
    const r = await run();
    if (r.status === "succeeded") {
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
    }
    return r;
  }
}
