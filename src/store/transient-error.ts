/**
 * Store faults that pass by themselves: a database restarting or unreachable, a connection cut, a lock held
 * for a while, a full or failing disk. Work is never failed for these: callers wait and try again. Everything
 * else (a constraint, a bad query, a corrupt file) is a real error.
 */

/** PostgreSQL SQLSTATEs: connection exceptions, shutdown and start-up, too many connections, lock conflicts. */
const PG_TRANSIENT = /^(08\d\d\d|57P0[1-3]|53300|53\d\d\d|40001|40P01|55P03)$/;

/** Node's socket errors and the file system's full / failing disk. */
const ERRNO_TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOSPC",
  "EDQUOT",
  "EIO",
]);

/**
 * better-sqlite3's codes: busy or locked database, full disk, I/O errors (SQLITE_IOERR_*), a file system gone
 * read-only (SQLITE_READONLY_*).
 */
const SQLITE_TRANSIENT = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY)/;

/** The code of {@link StoreUnavailableError}. */
const UNAVAILABLE = "STORE_UNAVAILABLE";

/**
 * The store refuses work until an operator acts: its data directory was deleted or its files can no longer be
 * written. Callers treat it as every transient fault (workers wait, the API answers 503): nothing is failed
 * for it, and nothing is written where it would be lost.
 */
export class StoreUnavailableError extends Error {
  readonly code = UNAVAILABLE;
}

/** What node-postgres says when the server goes away mid-connection (it has no code for these). */
const PG_MESSAGES =
  /Connection terminated|connection error|the database system is (shutting down|starting up|in recovery mode)|terminating connection|timeout exceeded when trying to connect|Client was closed and is not queryable|Connection ended/i;

export function isTransientStoreError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (code === UNAVAILABLE || PG_TRANSIENT.test(code) || ERRNO_TRANSIENT.has(code)) return true;
    if (SQLITE_TRANSIENT.test(code)) return true;
  }
  if (PG_MESSAGES.test(e.message)) return true;
  const cause = (e as { cause?: unknown }).cause;
  return cause !== undefined && cause !== e && isTransientStoreError(cause);
}
