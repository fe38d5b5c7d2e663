import { errorMessage } from "../errors.js";
import type { JobStore } from "../store/job-store.js";
import { isTransientStoreError } from "../store/transient-error.js";
import type { Logger } from "../util/logger.js";

/** The calls the workers make, retried while the store is down. */
const RETRIED = new Set<string>([
  "getJob",
  "listItems",
  "mergeJobMetadata",
  "nextRunnableJob",
  "startJob",
  "endTurn",
  "failJob",
  "claimItems",
  "renewLeases",
  "recordOutcomes",
  "releaseItems",
  "leaseOwners",
  "sweepLeases",
  "finalizeJob",
  "idleRunningJobs",
  "dependentsOf",
  "releaseEndedDependencies",
  "publish",
]);

export interface ResilienceOptions {
  log: Logger;
  /** Once aborted (a shutdown past its grace period), calls stop waiting and throw the store's error. */
  signal?: AbortSignal;
  /** First wait, then doubled up to maxDelayMs, each with ±50% jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * A store whose worker-side calls wait out transient faults (a database restart, a dropped connection, a full
 * disk): each such call is tried again with backoff and jitter until the store answers, so a job or an item
 * never fails for them. The outage is logged once, then every minute, and its end once.
 */
export function resilientStore(store: JobStore, o: ResilienceOptions): JobStore {
  const base = o.baseDelayMs ?? 100;
  const max = o.maxDelayMs ?? 5000;
  let downSince = 0;
  let lastLog = 0;
  const retrying = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    let delay = base;
    for (;;) {
      try {
        const out = await call();
        if (downSince !== 0) {
          o.log.info(`the store answers again (after ${Math.round((Date.now() - downSince) / 1000)} s)`);
          downSince = 0;
          lastLog = 0;
        }
        return out;
      } catch (e: unknown) {
        if (!isTransientStoreError(e) || o.signal?.aborted) throw e;
        const now = Date.now();
        if (downSince === 0) downSince = now;
        if (now - lastLog >= 60_000) {
          lastLog = now;
          o.log.warn(
            `the store is unavailable (${what}: ${errorMessage(e)}); waiting for it, no work is lost`,
          );
        }
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, max);
      }
    }
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !RETRIED.has(prop)) return value.bind(target);
      return (...args: unknown[]) => retrying(prop, () => value.apply(target, args));
    },
  });
}
