import { errorMessage } from "../errors.js";
import type { Logger } from "../util/logger.js";
import type { JobStore } from "./job-store.js";

/** How often a server looks whether its store can still be written. */
export const WRITABLE_CHECK_MS = 2000;

/**
 * Looks every few seconds whether the store can take a write, and says so in the log when that changes: a
 * deleted data directory, a file system gone read-only, a database that stopped answering. The check itself
 * is what makes the SQLite store refuse calls that would be lost (see SqliteJobStore.checkWritable); the
 * API then answers 503 and the workers wait. Returns the stop function.
 */
export function watchWritable(
  store: Pick<JobStore, "checkWritable">,
  log: Logger,
  everyMs = WRITABLE_CHECK_MS,
): () => void {
  let problem: string | null = null;
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      await store.checkWritable();
      if (problem !== null) log.info(`the store can be written again (it could not: ${problem})`);
      problem = null;
    } catch (e: unknown) {
      const now = errorMessage(e);
      if (now !== problem)
        log.error(`the store cannot be written: ${now}; submits answer 503 and the workers wait meanwhile`);
      problem = now;
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
