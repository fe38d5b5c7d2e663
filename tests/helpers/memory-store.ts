import type { JobStore, NewJob } from "../../src/store/job-store.js";
import { SqliteJobStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Logger } from "../../src/util/logger.js";

/** Epoch seconds of the fake clock's start. */
export const T0 = 1_800_000_000;

/** A real SQLite store in memory: for unit tests of the queue, gone with the test. */
export function memoryStore(): SqliteJobStore {
  return new SqliteJobStore({ path: ":memory:" });
}

/** A job of `n` items with ids i0, i1, ... */
export function newJob(id: string, n: number, extra: Partial<NewJob> = {}): NewJob {
  return {
    id,
    type: "unit",
    options: {},
    metadata: { total_items: n },
    chunkSize: 10,
    parallel: 2,
    priority: 0,
    maxAttempts: 3,
    createdAt: T0,
    items: Array.from({ length: n }, (_, i) => ({ itemId: `i${i}`, payload: { id: `i${i}` } })),
    ...extra,
  };
}

/** An error the store layer counts as transient (a locked SQLite database). */
export const busyError = (): Error => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

/** The store, with its next `times` calls of `method` failing with `error()` before they reach it. */
export function failingNext(
  store: JobStore,
  method: keyof JobStore,
  times: number,
  error: () => Error = busyError,
): JobStore & { calls: number } {
  let left = times;
  const counter = { calls: 0 };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "calls") return counter.calls;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        counter.calls++;
        if (left > 0) {
          left--;
          throw error();
        }
        return value.apply(target, args);
      };
    },
  }) as JobStore & { calls: number };
}

/** A logger that keeps what it is told, by level. */
export function recordingLogger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    info() {},
    debug() {},
    warn: (m) => void warnings.push(m),
    error: (m) => void errors.push(m),
  };
}
