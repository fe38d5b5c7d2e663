import type { JsonObject } from "../domain/json.js";

/** A successful item's result kept for its cache key; times are epoch seconds. */
export interface CachedResult {
  /** sha256 (hex) of the item's cache key. */
  keyHash: string;
  /** The fields the item's processor returned (its result entry without status and error). */
  result: JsonObject;
  /** The job whose item produced it. */
  jobId: string;
  createdAt: number;
  expiresAt: number;
}

/** How the cache has done since the store was made: lookups answered, lookups not, entries not expired. */
export interface CacheCounts {
  hits: number;
  misses: number;
  entries: number;
}

/** The result cache's table: the store keeps entries and counts lookups; what a key means is the queue's. */
export interface ResultCacheStore {
  /**
   * The entry for `keyHash` that has not expired by `now`, or null; counts the lookup as a hit or a miss (the
   * counts `cacheCounts` gives, shared by every process on the store).
   */
  findCachedResult(keyHash: string, now: number): Promise<CachedResult | null>;
  /** Keeps an entry (replacing an earlier one of the same key). */
  saveCachedResult(entry: CachedResult): Promise<void>;
  /** Deletes up to `limit` entries expired by `now`; returns how many (fewer than `limit`: none left). */
  dropExpiredCachedResults(now: number, limit: number): Promise<number>;
  cacheCounts(now: number): Promise<CacheCounts>;
}
