import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { FailureReason } from "../../domain/failure.js";
import { CANCELLED_BY_USER, failedOutcome, jobEnd, lostItemOutcome } from "../../domain/outcome-rules.js";
import {
  FINAL_JOB_STATUSES,
  type ItemFinalStatus,
  storedItemStatuses,
  WAITING_ITEM_STATUS,
} from "../../domain/statuses.js";
import { failedFirstSql } from "../failed-first.js";
import { dependencyFailureSql, hasItemDependencies, NOT_STARTED, UNENDED } from "../item-dependency-rows.js";
import type {
  CacheCounts,
  CachedResult,
  CancelOutcome,
  ClaimedItem,
  IdempotencyRecord,
  ItemFilter,
  ItemOutcome,
  ItemRecord,
  JobFilter,
  JobRecord,
  JobStatus,
  JobStore,
  JsonObject,
  LeaseSweep,
  NewItem,
  NewJob,
  PurgeOutcome,
  ScheduleRecord,
  WorkflowRecord,
} from "../job-store.js";
import { JOB_STATUSES } from "../job-store.js";
import { workerIdOf } from "../owner-id.js";
import {
  cacheCountsOf,
  type JsonColumn,
  RETRYING_COLUMN,
  type Row,
  toCachedResult,
  toItemRecord,
  toJobRecord,
  toScheduleRecord,
  toWorkflowRecord,
  WAITING_COLUMN,
} from "../row-mapping.js";
import { StoreUnavailableError } from "../transient-error.js";
import { SQLITE_MIGRATIONS } from "./migrations.js";
import { SqliteDependencies } from "./sqlite-dependencies.js";

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  path: string;
  /** How long a call waits for a lock another process holds before it fails with SQLITE_BUSY (5 s). */
  busyTimeoutMs?: number;
}

/**
 * SQLite's own wait for a lock blocks the thread, and with it every request of the server: it is kept this
 * short, and longer waits happen between tries with the event loop free (see `use`).
 */
const BUSY_SPIN_MS = 20;

const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown })?.code));

/** SQLite stores JSON as text. */
const textJson: JsonColumn = (v) => (typeof v === "string" ? (JSON.parse(v) as JsonObject) : null);
const toJob = (r: Row): JobRecord => toJobRecord(r, textJson);
const toItem = (r: Row): ItemRecord => toItemRecord(r, textJson);

const COUNTER_COLUMN = {
  succeeded: "succeeded",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
} as const;

/**
 * The first of these files that exists and may not be written, and why; null when none. Asked with access(2),
 * never by opening them: closing any descriptor of a file drops every POSIX lock this process holds on it,
 * SQLite's included — after which another process may take the database's shared memory for unused and reset
 * it under our feet (the server died of SIGBUS).
 */
function unwritableFile(paths: readonly string[]): string | null {
  for (const path of paths) {
    try {
      accessSync(path, constants.W_OK);
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") continue;
      return `${path} cannot be written (${code ?? String(e)})`;
    }
  }
  return null;
}

/** The embedded backend: one file, WAL, synchronous=NORMAL; all calls are synchronous under an async face. */
/** Items inserted per transaction when a large job is stored in pieces. */
const INSERT_PIECE = 5000;

/** An ended job whose webhook is pending, due (next_attempt_at <= ?) and not leased (lease_until < ?). */
const SQLITE_WEBHOOK_DUE = `status IN (${FINAL_JOB_STATUSES.map((s) => `'${s}'`).join(", ")})
  AND json_extract(metadata, '$.webhook.state') = 'pending'
  AND COALESCE(json_extract(metadata, '$.webhook.next_attempt_at'), 0) <= ?
  AND COALESCE(json_extract(metadata, '$.webhook.lease_until'), 0) < ?`;

export class SqliteJobStore implements JobStore {
  readonly backend = "sqlite" as const;
  readonly shared = false;
  readonly db: Database.Database;
  private readonly stmts: ReturnType<SqliteJobStore["prepare"]>;
  private readonly deps: SqliteDependencies;

  private readonly path: string;
  private readonly busyWaitMs: number;
  /** Why the store refuses every call, found by checkWritable: its file is gone (for good)... */
  private gone: string | null = null;
  /** ...or cannot be written (until it can again). */
  private unwritable: string | null = null;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    // A new file gives deleted jobs' space back in steps (reclaimSpace); it must be said before the first table
    // and before WAL. A file made earlier keeps its mode (its free pages are reused, not returned), and is not
    // written here: one that cannot be written is for checkWritable to name.
    const empty = this.db.prepare("SELECT COUNT(*) FROM sqlite_master").pluck().get() === 0;
    if (empty) this.db.pragma("auto_vacuum = INCREMENTAL");
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.busyWaitMs = options.busyTimeoutMs ?? 5000;
    this.db.pragma(`busy_timeout = ${this.busyWaitMs}`); // at start, nothing else to keep answering
    this.migrate();
    this.stmts = this.prepare();
    this.deps = new SqliteDependencies(this.db);
    this.db.pragma(`busy_timeout = ${Math.min(BUSY_SPIN_MS, this.busyWaitMs)}`);
  }

  /**
   * Runs one statement or transaction (each call below is one: trying it again is safe). A lock held by
   * another process (a `sqlite3` shell in a transaction, a backup) is waited out for up to busyTimeoutMs, in
   * short sleeps that leave the event loop free, so that routes which do not need the store keep answering.
   */
  private use<T>(fn: () => T): T | Promise<T> {
    const unusable = this.unavailable();
    if (unusable !== null) throw new StoreUnavailableError(unusable);
    try {
      return fn();
    } catch (e: unknown) {
      if (!isBusy(e)) throw e;
    }
    const deadline = Date.now() + this.busyWaitMs;
    const retry = async (): Promise<T> => {
      for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
        const unusable = this.unavailable();
        if (unusable !== null) throw new StoreUnavailableError(unusable);
        try {
          return fn();
        } catch (e: unknown) {
          if (!isBusy(e) || Date.now() >= deadline) throw e;
        }
      }
    };
    return retry();
  }

  private migrate(): void {
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)",
    );
    const applied = new Set(
      (this.db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    for (const m of SQLITE_MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db
        .transaction(() => {
          this.db.exec(m.sql);
          this.db
            .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .run(m.version, m.name, Date.now() / 1000);
        })
        .immediate();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insertJob:
        db.prepare(`INSERT INTO jobs (id, type, status, options, metadata, chunk_size, parallel, priority,
        max_attempts, total, created_at, updated_at, run_at, item_deps, on_dependency_failure)
        VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertItem: db.prepare("INSERT INTO items (job_id, seq, item_id, payload) VALUES (?, ?, ?, ?)"),
      insertDependant: db.prepare(`INSERT INTO items (job_id, seq, item_id, payload, status, deps_pending,
        dep_failure, dep_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertEdge: db.prepare("INSERT INTO item_deps (item, dep) VALUES (?, ?)"),
      jobItemDeps: db.prepare("SELECT item_deps FROM jobs WHERE id = ?").pluck(),
      releaseSucceeded: db.prepare(`WITH c AS (SELECT e.item, COUNT(*) AS n FROM json_each(?) k
          JOIN item_deps e ON e.dep = k.value GROUP BY e.item)
        UPDATE items SET deps_pending = deps_pending - c.n,
          status = CASE WHEN deps_pending = c.n THEN 'queued' ELSE status END
        FROM c WHERE items.id = c.item AND items.status = '${WAITING_ITEM_STATUS}'`),
      releaseDependants: db.prepare(`UPDATE items SET deps_pending = deps_pending - 1,
        dep_failure = CASE WHEN @status <> 'succeeded' AND dep_run = 0 AND dep_failure IS NULL
          THEN ${dependencyFailureSql("(SELECT d.item_id FROM items d WHERE d.id = @dep)", "@status")}
          ELSE dep_failure END,
        status = CASE WHEN deps_pending = 1 THEN 'queued' ELSE status END
        WHERE id IN (SELECT item FROM item_deps WHERE dep = @dep) AND status = '${WAITING_ITEM_STATUS}'`),
      dropEdges: db.prepare("DELETE FROM item_deps WHERE item IN (SELECT id FROM items WHERE job_id = ?)"),
      getJob: db.prepare(`SELECT *, ${RETRYING_COLUMN}, ${WAITING_COLUMN.sqlite} FROM jobs WHERE id = ?`),
      countByStatus: db.prepare("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"),
      cancelJob: db.prepare(`UPDATE jobs SET status = 'cancelled', completed_at = ?, updated_at = ?,
        error = COALESCE(error, ?) WHERE id = ? AND status IN ('queued', 'running')`),
      cancelQueuedItems: db.prepare(
        `UPDATE items SET status = 'cancelled', finished_at = ? WHERE job_id = ? AND status IN ${NOT_STARTED}`,
      ),
      addCancelled: db.prepare("UPDATE jobs SET cancelled = cancelled + ? WHERE id = ?"),
      nextJob: db.prepare(`SELECT * FROM jobs j WHERE j.status IN ('queued', 'running')
        AND (j.run_at IS NULL OR j.run_at <= ?)
        AND NOT EXISTS (SELECT 1 FROM json_each(?) x WHERE x.value = j.id)
        AND (EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status = 'queued'
          AND (i.not_before IS NULL OR i.not_before <= ?))
          OR (j.status = 'queued' AND j.total = 0 AND json_extract(j.metadata, '$.inputs.state') = 'pending'))
        AND NOT EXISTS (SELECT 1 FROM job_deps d WHERE d.job_id = j.id AND d.pending = 1)
        ORDER BY j.priority DESC, j.served_at ASC NULLS FIRST, j.created_at ASC LIMIT 1`),
      startJob: db.prepare(`UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, @now),
        served_at = @now, updated_at = @now WHERE id = @id AND status IN ('queued', 'running')`),
      endTurn: db.prepare("UPDATE jobs SET served_at = ? WHERE id = ?"),
      setPriority: db.prepare(
        "UPDATE jobs SET priority = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'running')",
      ),
      failJob: db.prepare(`UPDATE jobs SET status = 'failed', error = ?, completed_at = ?, updated_at = ?
        WHERE id = ? AND status IN ('queued', 'running')`),
      failQueuedItems: db.prepare(
        `UPDATE items SET status = @status, error = @error, result = @result, finished_at = @now
        WHERE job_id = @id AND status IN ${NOT_STARTED}`,
      ),
      jobStatus: db.prepare("SELECT status FROM jobs WHERE id = ?").pluck(),
      claim: db.prepare(`UPDATE items SET status = 'running', attempts = attempts + 1, lease_owner = ?,
        lease_expires_at = ?, worker_id = ?, started_at = ?, not_before = NULL
        WHERE id IN (SELECT id FROM items WHERE job_id = ? AND status = 'queued'
          AND (not_before IS NULL OR not_before <= ?) ORDER BY seq LIMIT ?)
        RETURNING id, seq, item_id, payload, attempts, dep_failure`),
      nextRetry: db
        .prepare(
          "SELECT MIN(not_before) FROM items WHERE job_id = ? AND status = 'queued' AND not_before IS NOT NULL",
        )
        .pluck(),
      renew: db.prepare("UPDATE items SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'"),
      outcome:
        db.prepare(`UPDATE items SET status = ?, result = ?, error = ?, finished_at = ?, lease_owner = NULL,
        lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND attempts = ? AND status = 'running'`),
      retryLater: db.prepare(`UPDATE items SET status = 'queued', not_before = ?,
        attempts_log = json_insert(COALESCE(attempts_log, '[]'), '$[#]', json(?)), lease_owner = NULL,
        lease_expires_at = NULL WHERE id = ? AND lease_owner = ? AND attempts = ? AND status = 'running'`),
      counters:
        db.prepare(`UPDATE jobs SET succeeded = succeeded + ?, failed = failed + ?, skipped = skipped + ?,
        cancelled = cancelled + ?, current_item = COALESCE(?, current_item), updated_at = ? WHERE id = ?`),
      release: db.prepare(`UPDATE items SET status = 'queued', attempts = attempts - 1, lease_owner = NULL,
        lease_expires_at = NULL, worker_id = NULL, started_at = NULL
        WHERE id = ? AND job_id = ? AND lease_owner = ? AND status = 'running'`),
      owners: db.prepare("SELECT DISTINCT lease_owner FROM items WHERE status = 'running'").pluck(),
      lost: db.prepare(`SELECT i.id, i.job_id, i.attempts, j.max_attempts, j.status AS job_status,
        j.metadata AS job_metadata, j.item_deps FROM items i
        JOIN jobs j ON j.id = i.job_id
        WHERE i.status = 'running' AND (i.lease_expires_at < ? OR i.lease_owner IN (SELECT value FROM json_each(?)))`),
      requeue: db.prepare(`UPDATE items SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
        worker_id = NULL, not_before = ?, attempts_log = json_insert(COALESCE(attempts_log, '[]'), '$[#]', json(?))
        WHERE id = ?`),
      abandon:
        db.prepare(`UPDATE items SET status = ?, error = ?, result = ?, finished_at = ?, lease_owner = NULL,
        lease_expires_at = NULL WHERE id = ?`),
      remaining: db.prepare(`SELECT COUNT(*) FROM items WHERE job_id = ? AND status IN ${UNENDED}`).pluck(),
      finalize:
        db.prepare(`UPDATE jobs SET status = ?, error = ?, completed_at = ?, current_item = NULL, updated_at = ?
        WHERE id = ? AND status = 'running'`),
      runningItem: db.prepare("SELECT 1 FROM items WHERE job_id = ? AND status = 'running' LIMIT 1").pluck(),
      endedBefore: db
        .prepare(`SELECT id FROM jobs WHERE completed_at IS NOT NULL AND completed_at < ?
        AND status IN (SELECT value FROM json_each(?))
        AND NOT EXISTS (SELECT 1 FROM items i WHERE i.job_id = jobs.id AND i.status = 'running')
        ORDER BY completed_at LIMIT ?`)
        .pluck(),
      deleteJob: db.prepare("DELETE FROM jobs WHERE id = ?"),
      deleteJobDeps: db.prepare("DELETE FROM job_deps WHERE job_id = ?"),
      idempotencyKey: db.prepare(
        "SELECT fingerprint, job_id, created_at FROM idempotency_keys WHERE key = ?",
      ),
      takeIdempotencyKey: db.prepare(
        "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, job_id, created_at) VALUES (?, ?, ?, ?)",
      ),
      releaseIdempotencyKey: db.prepare("DELETE FROM idempotency_keys WHERE key = ? AND job_id = ?"),
      takeOverIdempotencyKey: db.prepare(
        "UPDATE idempotency_keys SET fingerprint = ?, job_id = ?, created_at = ? WHERE key = ? AND job_id = ?",
      ),
      jobIdempotencyKeys: db.prepare("DELETE FROM idempotency_keys WHERE job_id = ?"),
      expiredIdempotencyKeys: db.prepare("DELETE FROM idempotency_keys WHERE created_at < ?"),
      cachedResult: db.prepare(
        "SELECT key_hash, result, job_id, created_at, expires_at FROM result_cache WHERE key_hash = ? AND expires_at > ?",
      ),
      countCacheLookup: db.prepare("UPDATE result_cache_counts SET n = n + 1 WHERE name = ?"),
      saveCachedResult: db.prepare(
        "INSERT OR REPLACE INTO result_cache (key_hash, result, job_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
      ),
      expiredCachedResults: db.prepare(
        "DELETE FROM result_cache WHERE key_hash IN (SELECT key_hash FROM result_cache WHERE expires_at <= ? LIMIT ?)",
      ),
      jobCachedResults: db.prepare("DELETE FROM result_cache WHERE job_id = ?"),
      notePurged: db.prepare("INSERT OR IGNORE INTO purged_jobs (job_id, purged_at) VALUES (?, ?)"),
      nextPurged: db.prepare("SELECT job_id FROM purged_jobs ORDER BY purged_at LIMIT 1").pluck(),
      dropItems: db.prepare("DELETE FROM items WHERE id IN (SELECT id FROM items WHERE job_id = ? LIMIT ?)"),
      forgetPurged: db.prepare("DELETE FROM purged_jobs WHERE job_id = ?"),
      idle: db
        .prepare(`SELECT id FROM jobs j WHERE status = 'running' AND NOT EXISTS
        (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status IN ${UNENDED})`)
        .pluck(),
    };
  }

  /**
   * A small job goes in in one transaction. A large one goes in pieces, the event loop turning between them
   * (a 400,000-item job held every request for seconds): its items first, then the job row, so that no worker
   * or reader sees the job before all its items are there. A crash midway leaves items without a job, which
   * nothing reads.
   */
  async createJob(job: NewJob): Promise<void> {
    const s = this.stmts;
    const insertJob = () => {
      s.insertJob.run(
        job.id,
        job.type,
        JSON.stringify(job.options),
        JSON.stringify(job.metadata),
        job.chunkSize,
        job.parallel,
        job.priority,
        job.maxAttempts,
        job.items.length,
        job.createdAt,
        job.createdAt,
        job.runAt ?? null,
        withDeps ? 1 : 0,
        job.onDependencyFailure ?? null,
      );
      this.deps.record(job, job.createdAt);
    };
    const withDeps = hasItemDependencies(job);
    // Row keys by position, for the dependency edges (written once every item is in).
    const keys: number[] = [];
    const insertItems = (from: number, to: number) => {
      for (let seq = from; seq < to; seq++) {
        const item = job.items[seq]!;
        const payload = JSON.stringify(item.payload);
        if (!withDeps) {
          s.insertItem.run(job.id, seq, item.itemId, payload);
          continue;
        }
        const pending = item.dependsOn?.length ?? 0;
        const status = pending > 0 ? WAITING_ITEM_STATUS : "queued";
        const dep = [pending, item.depFailure ?? null, item.runOnDependencyFailure ? 1 : 0];
        keys[seq] = Number(
          s.insertDependant.run(job.id, seq, item.itemId, payload, status, ...dep).lastInsertRowid,
        );
      }
    };
    const insertEdges = (from: number, to: number) => {
      for (let seq = from; seq < to; seq++)
        for (const dep of job.items[seq]!.dependsOn ?? []) s.insertEdge.run(keys[seq], keys[dep]);
    };
    const n = job.items.length;
    if (n <= INSERT_PIECE) {
      await this.use(() =>
        this.db
          .transaction(() => {
            insertItems(0, n);
            if (withDeps) insertEdges(0, n);
            insertJob(); // after its items: a dependency's rule may cancel them at once
          })
          .immediate(),
      );
      return;
    }
    if (job.dependsOn?.length) await this.use(() => this.deps.statuses([...new Set(job.dependsOn)]));
    for (let from = 0; from < n; from += INSERT_PIECE) {
      await this.use(() =>
        this.db.transaction(() => insertItems(from, Math.min(n, from + INSERT_PIECE))).immediate(),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (let from = 0; withDeps && from < n; from += INSERT_PIECE) {
      await this.use(() =>
        this.db.transaction(() => insertEdges(from, Math.min(n, from + INSERT_PIECE))).immediate(),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.use(() => this.db.transaction(insertJob).immediate());
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const row = (await this.use(() => this.stmts.getJob.get(id))) as Row | undefined;
    return row ? toJob(row) : null;
  }

  async listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      where.push("status = ?");
      args.push(filter.status);
    }
    if (filter.type) {
      where.push("type = ?");
      args.push(filter.type);
    }
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [total, rows] = await this.use(() =>
      this.db.transaction(
        () =>
          [
            this.db
              .prepare(`SELECT COUNT(*) FROM jobs ${clause}`)
              .pluck()
              .get(...args) as number,
            this.db
              .prepare(
                `SELECT *, ${RETRYING_COLUMN}, ${WAITING_COLUMN.sqlite} FROM jobs ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
              )
              .all(...args, filter.limit, filter.offset) as Row[],
          ] as const,
      )(),
    );
    return { jobs: rows.map(toJob), total };
  }

  async countJobsByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    const rows = await this.use(() => this.stmts.countByStatus.all() as { status: JobStatus; n: number }[]);
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async cancelJob(id: string, now: number, cascade = true): Promise<CancelOutcome> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction((): CancelOutcome => {
          const status = s.jobStatus.get(id) as JobStatus | undefined;
          if (status === undefined) return "not_found";
          if (s.cancelJob.run(now, now, CANCELLED_BY_USER, id).changes === 0) return "finished";
          const n = s.cancelQueuedItems.run(now, id).changes;
          if (n > 0) s.addCancelled.run(n, id);
          this.deps.ended(id, "cancelled", now, cascade);
          return "cancelled";
        })
        .immediate(),
    );
  }

  async listItems(jobId: string, filter: ItemFilter): Promise<{ items: ItemRecord[]; total: number }> {
    const where = ["job_id = ?"];
    const args: unknown[] = [jobId];
    if (filter.status !== undefined) {
      const statuses = storedItemStatuses(
        typeof filter.status === "string" ? [filter.status] : filter.status,
      );
      where.push(`status IN (${statuses.map(() => "?").join(", ") || "NULL"})`);
      args.push(...statuses);
    }
    if (filter.itemIds !== undefined) {
      where.push(`item_id IN (${filter.itemIds.map(() => "?").join(", ") || "NULL"})`);
      args.push(...filter.itemIds);
    }
    if (filter.ended) where.push(`status NOT IN ${UNENDED}`);
    if (filter.afterSeq !== undefined) {
      where.push("seq > ?");
      args.push(filter.afterSeq);
    }
    const clause = where.join(" AND ");
    const [total, rows] = await this.use(() =>
      this.db.transaction(
        () =>
          [
            filter.countTotal === false
              ? -1
              : (this.db
                  .prepare(`SELECT COUNT(*) FROM items WHERE ${clause}`)
                  .pluck()
                  .get(...args) as number),
            (filter.failedFirst
              ? this.db
                  .prepare(failedFirstSql(clause, "?", "?", "?"))
                  .all(
                    ...args,
                    filter.limit + filter.offset,
                    ...args,
                    filter.limit + filter.offset,
                    filter.limit,
                    filter.offset,
                  )
              : this.db
                  .prepare(`SELECT * FROM items WHERE ${clause} ORDER BY seq LIMIT ? OFFSET ?`)
                  .all(...args, filter.limit, filter.offset)) as Row[],
          ] as const,
      )(),
    );
    return { items: rows.map(toItem), total };
  }

  async dueWebhooks(now: number, limit: number): Promise<string[]> {
    const rows = (await this.use(() =>
      this.db
        .prepare(`SELECT id FROM jobs WHERE ${SQLITE_WEBHOOK_DUE} ORDER BY completed_at LIMIT ?`)
        .all(now, now, limit),
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async claimWebhook(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const result = await this.use(() =>
      this.db
        .prepare(
          `UPDATE jobs SET metadata = json_set(metadata, '$.webhook.lease_owner', ?, '$.webhook.lease_until', ?)
           WHERE id = ? AND ${SQLITE_WEBHOOK_DUE}`,
        )
        .run(owner, leaseUntil, id, now, now),
    );
    return result.changes === 1;
  }

  async mergeJobMetadata(id: string, patch: JsonObject): Promise<void> {
    await this.use(() =>
      this.db
        .prepare("UPDATE jobs SET metadata = json_patch(metadata, ?) WHERE id = ?")
        .run(JSON.stringify(patch), id),
    );
  }

  /**
   * Whether the store can take a write now; throws why not. A data directory deleted under a running server
   * goes unnoticed by SQLite, which keeps writing to the unlinked file: from the moment this sees it, every
   * call is refused (the API answers 503, the workers wait) rather than written where it would be lost. Files
   * that can no longer be opened for writing (a file system remounted read-only, `chattr +i`) are refused
   * the same way, until they can again.
   */
  async checkWritable(): Promise<void> {
    if (this.path !== ":memory:" && this.gone === null) {
      if (!existsSync(this.path))
        this.gone = `the database file ${this.path} is gone (was the data directory deleted?); restart the server once its data is back`;
      else this.unwritable = unwritableFile([this.path, `${this.path}-wal`, `${this.path}-shm`]);
    }
    await this.use(() => {
      this.db.exec("BEGIN IMMEDIATE");
      this.db.exec("ROLLBACK");
    });
  }

  unavailable(): string | null {
    return this.gone ?? this.unwritable;
  }

  async queueDepth(): Promise<number> {
    return this.use(
      () =>
        this.db
          .prepare(
            `SELECT (SELECT COUNT(*) FROM items WHERE status = 'queued')
              + (SELECT COUNT(*) FROM items WHERE status = '${WAITING_ITEM_STATUS}')`,
          )
          .pluck()
          .get() as number,
    );
  }

  async nextRunnableJob(excludeIds: readonly string[], now: number): Promise<JobRecord | null> {
    const row = (await this.use(() => this.stmts.nextJob.get(now, JSON.stringify(excludeIds), now))) as
      | Row
      | undefined;
    return row ? toJob(row) : null;
  }

  async startJob(id: string, now: number): Promise<boolean> {
    return this.use(() => this.stmts.startJob.run({ now, id }).changes > 0);
  }

  async endTurn(id: string, now: number): Promise<void> {
    await this.use(() => this.stmts.endTurn.run(now, id));
  }

  async setJobPriority(id: string, priority: number, now: number): Promise<boolean> {
    return this.use(() => this.stmts.setPriority.run(priority, now, id).changes > 0);
  }

  async failJob(id: string, error: string, now: number, failure?: FailureReason): Promise<boolean> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction(() => {
          if (s.failJob.run(error, now, now, id).changes === 0) return false;
          const o = failedOutcome(error, failure);
          const n = s.failQueuedItems.run({ ...o, result: JSON.stringify(o.result), now, id }).changes;
          if (n > 0) s.counters.run(0, n, 0, 0, null, now, id);
          this.deps.ended(id, "failed", now, false);
          return true;
        })
        .immediate(),
    );
  }

  async claimItems(
    jobId: string,
    owner: string,
    limit: number,
    leaseExpiresAt: number,
    now: number,
  ): Promise<ClaimedItem[]> {
    const s = this.stmts;
    const rows = await this.use(() =>
      this.db
        .transaction(() => {
          if (s.jobStatus.get(jobId) !== "running") return [] as Row[];
          return s.claim.all(owner, leaseExpiresAt, workerIdOf(owner), now, jobId, now, limit) as Row[];
        })
        .immediate(),
    );
    return rows
      .map((r) => ({
        key: r.id as number,
        jobId,
        seq: r.seq as number,
        itemId: r.item_id as string,
        payload: textJson(r.payload) ?? {},
        attempt: r.attempts as number,
        ...(r.dep_failure ? { depFailure: r.dep_failure as string } : {}),
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async nextRetryAt(jobId: string): Promise<number | null> {
    return this.use(() => (this.stmts.nextRetry.get(jobId) as number | null) ?? null);
  }

  async renewLeases(owner: string, leaseExpiresAt: number): Promise<number> {
    return this.use(() => this.stmts.renew.run(leaseExpiresAt, owner).changes);
  }

  async recordOutcomes(
    jobId: string,
    owner: string,
    outcomes: ItemOutcome[],
    currentItem: string | null,
  ): Promise<ItemOutcome[]> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction(() => {
          const add = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0 };
          const accepted: ItemOutcome[] = [];
          const withDeps = s.jobItemDeps.get(jobId) === 1;
          // Dependencies that succeeded release their dependants in one statement.
          const succeeded: number[] = [];
          let last = 0;
          for (const o of outcomes) {
            if (o.retry) {
              const { notBefore, entry } = o.retry;
              const r = s.retryLater.run(notBefore, JSON.stringify(entry), o.key, owner, o.attempt);
              if (r.changes > 0) accepted.push(o);
              continue;
            }
            const result = o.result === null ? null : JSON.stringify(o.result);
            const r = s.outcome.run(o.status, result, o.error, o.finishedAt, o.key, owner, o.attempt);
            if (r.changes === 0) continue;
            accepted.push(o);
            add[COUNTER_COLUMN[o.status]]++;
            last = Math.max(last, o.finishedAt);
            if (!withDeps) continue;
            if (o.status === "succeeded") succeeded.push(o.key);
            else this.releaseDependants(o.key, o.status);
          }
          if (succeeded.length > 0) s.releaseSucceeded.run(JSON.stringify(succeeded));
          if (accepted.length > 0)
            s.counters.run(add.succeeded, add.failed, add.skipped, add.cancelled, currentItem, last, jobId);
          return accepted;
        })
        .immediate(),
    );
  }

  async releaseItems(jobId: string, owner: string, keys: readonly number[]): Promise<number> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction(() => {
          let n = 0;
          for (const key of keys) n += s.release.run(key, jobId, owner).changes;
          return n;
        })
        .immediate(),
    );
  }

  async leaseOwners(): Promise<string[]> {
    const owners = await this.use(() => this.stmts.owners.all() as (string | null)[]);
    return owners.filter((x): x is string => x !== null);
  }

  async sweepLeases(now: number, deadOwners: readonly string[]): Promise<LeaseSweep> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction((): LeaseSweep => {
          const lost = s.lost.all(now, JSON.stringify(deadOwners)) as Row[];
          const jobIds = new Set<string>();
          let requeued = 0;
          let abandoned = 0;
          for (const r of lost) {
            const jobId = r.job_id as string;
            jobIds.add(jobId);
            const o = lostItemOutcome({
              attempts: r.attempts as number,
              maxAttempts: r.max_attempts as number,
              jobStatus: r.job_status as JobStatus,
              jobMetadata: textJson(r.job_metadata) ?? {},
              now,
            });
            if ("notBefore" in o) {
              s.requeue.run(o.notBefore, JSON.stringify(o.entry), r.id);
              requeued++;
              continue;
            }
            s.abandon.run(o.status, o.error, JSON.stringify(o.result), now, r.id);
            if (r.item_deps === 1) this.releaseDependants(r.id as number, o.status);
            s.counters.run(
              0,
              o.status === "failed" ? 1 : 0,
              0,
              o.status === "cancelled" ? 1 : 0,
              null,
              now,
              jobId,
            );
            abandoned++;
          }
          return { requeued, abandoned, jobIds: [...jobIds] };
        })
        .immediate(),
    );
  }

  async finalizeJob(id: string, now: number): Promise<JobStatus | null> {
    const s = this.stmts;
    return this.use(() =>
      this.db
        .transaction((): JobStatus | null => {
          if ((s.remaining.get(id) as number) > 0) return null;
          const job = s.getJob.get(id) as Row | undefined;
          if (job?.status !== "running") return null;
          const { status, error } = jobEnd({ failed: job.failed as number, total: job.total as number });
          s.finalize.run(status, error, now, now, id);
          this.deps.ended(id, status, now, false);
          return status;
        })
        .immediate(),
    );
  }

  /** In a transaction: an item ended; its dependants count it off (see item-dependencies.ts). */
  private releaseDependants(key: number, status: ItemFinalStatus): void {
    this.stmts.releaseDependants.run({ dep: key, status });
  }

  async dependentsOf(id: string): Promise<string[]> {
    return this.use(() => this.deps.dependentsOf(id));
  }

  async releaseEndedDependencies(now: number, limit: number): Promise<string[]> {
    return this.use(() => this.db.transaction(() => this.deps.releaseEnded(now, limit)).immediate());
  }

  async idleRunningJobs(): Promise<string[]> {
    return this.use(() => this.stmts.idle.all() as string[]);
  }

  // --- workflows ---

  async createWorkflow(w: WorkflowRecord): Promise<void> {
    await this.use(() =>
      this.db
        .prepare("INSERT INTO workflows (id, name, created_at, jobs, spec) VALUES (?, ?, ?, ?, ?)")
        .run(w.id, w.name, w.createdAt, JSON.stringify(w.jobs), JSON.stringify(w.spec)),
    );
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | null> {
    return this.use(() => {
      const row = this.db.prepare("SELECT * FROM workflows WHERE id = ?").get(id) as Row | undefined;
      return row ? toWorkflowRecord(row, textJson) : null;
    });
  }

  async dropEmptyWorkflows(createdBefore: number, limit: number): Promise<string[]> {
    return this.use(
      () =>
        this.db
          .prepare(
            `DELETE FROM workflows WHERE id IN (SELECT w.id FROM workflows w WHERE w.created_at < ?
              AND NOT EXISTS (SELECT 1 FROM json_each(w.jobs) j JOIN jobs ON jobs.id = j.value) LIMIT ?)
            RETURNING id`,
          )
          .pluck()
          .all(createdBefore, limit) as string[],
    );
  }

  async listWorkflows(page: { limit: number; offset: number }): Promise<{
    workflows: WorkflowRecord[];
    total: number;
  }> {
    return this.use(() => {
      const total = this.db.prepare("SELECT COUNT(*) FROM workflows").pluck().get() as number;
      const rows = this.db
        .prepare("SELECT * FROM workflows ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")
        .all(page.limit, page.offset) as Row[];
      return { workflows: rows.map((r) => toWorkflowRecord(r, textJson)), total };
    });
  }

  async fillJobItems(
    id: string,
    items: readonly NewItem[],
    metadata: JsonObject,
    now: number,
  ): Promise<boolean> {
    const empty = items.length === 0 ? 1 : 0;
    return this.use(() =>
      this.db
        .transaction(() => {
          const filled = this.db
            .prepare(
              `UPDATE jobs SET total = @total, metadata = json_patch(metadata, @patch), updated_at = @now,
                status = CASE WHEN @empty = 1 THEN 'running' ELSE status END,
                started_at = CASE WHEN @empty = 1 THEN @now ELSE started_at END
              WHERE id = @id AND status = 'queued' AND json_extract(metadata, '$.inputs.state') = 'pending'
                AND NOT EXISTS (SELECT 1 FROM items WHERE job_id = @id)`,
            )
            .run({ total: items.length, patch: JSON.stringify(metadata), now, empty, id });
          if (filled.changes === 0) return false;
          items.forEach((item, seq) => {
            this.stmts.insertItem.run(id, seq, item.itemId, JSON.stringify(item.payload));
          });
          return true;
        })
        .immediate(),
    );
  }

  // --- schedules ---

  async createSchedule(s: ScheduleRecord): Promise<boolean> {
    return this.use(
      () =>
        this.db
          .prepare(
            `INSERT OR IGNORE INTO schedules (name, cron, timezone, job, paused, next_run_at, last_fired_at,
              last_job_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            s.name,
            s.cron,
            s.timezone,
            JSON.stringify(s.job),
            s.paused ? 1 : 0,
            s.nextRunAt,
            s.lastFiredAt,
            s.lastJobId,
            s.createdAt,
          ).changes === 1,
    );
  }

  async getSchedule(name: string): Promise<ScheduleRecord | null> {
    return this.use(() => {
      const row = this.db.prepare("SELECT * FROM schedules WHERE name = ?").get(name) as Row | undefined;
      return row ? toScheduleRecord(row, textJson) : null;
    });
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return this.use(() =>
      (this.db.prepare("SELECT * FROM schedules ORDER BY name").all() as Row[]).map((r) =>
        toScheduleRecord(r, textJson),
      ),
    );
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return this.use(() => this.db.prepare("DELETE FROM schedules WHERE name = ?").run(name).changes === 1);
  }

  async setSchedulePaused(name: string, paused: boolean, nextRunAt: number): Promise<ScheduleRecord | null> {
    return this.use(() => {
      const row = this.db
        .prepare("UPDATE schedules SET paused = ?, next_run_at = ? WHERE name = ? RETURNING *")
        .get(paused ? 1 : 0, nextRunAt, name) as Row | undefined;
      return row ? toScheduleRecord(row, textJson) : null;
    });
  }

  async claimScheduleTick(
    name: string,
    expectedNextRunAt: number,
    firedAt: number,
    nextRunAt: number,
  ): Promise<boolean> {
    return this.use(
      () =>
        this.db
          .prepare(
            `UPDATE schedules SET next_run_at = ?, last_fired_at = ?
            WHERE name = ? AND paused = 0 AND next_run_at = ?`,
          )
          .run(nextRunAt, firedAt, name, expectedNextRunAt).changes === 1,
    );
  }

  async recordScheduleJob(name: string, firedAt: number, jobId: string): Promise<void> {
    await this.use(() =>
      this.db
        .prepare("UPDATE schedules SET last_job_id = ? WHERE name = ? AND last_fired_at = ?")
        .run(jobId, name, firedAt),
    );
  }

  async claimIdempotencyKey(
    key: string,
    fingerprint: string,
    jobId: string,
    now: number,
    expiredBefore: number,
  ): Promise<IdempotencyRecord | null> {
    return this.use(() =>
      this.db
        .transaction((): IdempotencyRecord | null => {
          const held = this.stmts.idempotencyKey.get(key) as
            | { fingerprint: string; job_id: string; created_at: number }
            | undefined;
          if (held && held.created_at >= expiredBefore)
            return { fingerprint: held.fingerprint, jobId: held.job_id, createdAt: held.created_at };
          this.stmts.takeIdempotencyKey.run(key, fingerprint, jobId, now);
          return null;
        })
        .immediate(),
    );
  }

  async releaseIdempotencyKey(key: string, jobId: string): Promise<void> {
    await this.use(() => this.stmts.releaseIdempotencyKey.run(key, jobId));
  }

  async takeOverIdempotencyKey(
    key: string,
    staleJobId: string,
    fingerprint: string,
    jobId: string,
    now: number,
  ): Promise<boolean> {
    return this.use(
      () => this.stmts.takeOverIdempotencyKey.run(fingerprint, jobId, now, key, staleJobId).changes > 0,
    );
  }

  async dropExpiredIdempotencyKeys(before: number): Promise<number> {
    return this.use(() => this.stmts.expiredIdempotencyKeys.run(before).changes);
  }

  async findCachedResult(keyHash: string, now: number): Promise<CachedResult | null> {
    return this.use(() =>
      this.db
        .transaction((): CachedResult | null => {
          const row = this.stmts.cachedResult.get(keyHash, now) as Row | undefined;
          this.stmts.countCacheLookup.run(row ? "hits" : "misses");
          return row ? toCachedResult(row, textJson) : null;
        })
        .immediate(),
    );
  }

  async saveCachedResult(e: CachedResult): Promise<void> {
    await this.use(() =>
      this.stmts.saveCachedResult.run(e.keyHash, JSON.stringify(e.result), e.jobId, e.createdAt, e.expiresAt),
    );
  }

  async dropExpiredCachedResults(now: number, limit: number): Promise<number> {
    return this.use(() => this.stmts.expiredCachedResults.run(now, limit).changes);
  }

  async cacheCounts(now: number): Promise<CacheCounts> {
    return this.use(() => {
      const counts = this.db.prepare("SELECT name, n FROM result_cache_counts").all() as Row[];
      const entries = this.db
        .prepare("SELECT COUNT(*) FROM result_cache WHERE expires_at > ?")
        .pluck()
        .get(now) as number;
      return cacheCountsOf(counts, entries);
    });
  }

  async purgeJob(id: string): Promise<PurgeOutcome> {
    return this.use(() =>
      this.db
        .transaction((): PurgeOutcome => {
          const status = this.stmts.jobStatus.get(id) as JobStatus | undefined;
          if (status === undefined) return "not_found";
          if (!FINAL_JOB_STATUSES.includes(status)) return "not_ended";
          if (this.stmts.runningItem.get(id) !== undefined) return "finishing";
          this.purge(id);
          return "purged";
        })
        .immediate(),
    );
  }

  async purgeEndedJobs(
    endedBefore: number,
    statuses: readonly JobStatus[] | null,
    limit: number,
  ): Promise<string[]> {
    const wanted = JSON.stringify(
      (statuses ?? FINAL_JOB_STATUSES).filter((x) => FINAL_JOB_STATUSES.includes(x)),
    );
    return this.use(() =>
      this.db
        .transaction((): string[] => {
          const ids = this.stmts.endedBefore.all(endedBefore, wanted, limit) as string[];
          for (const id of ids) this.purge(id);
          return ids;
        })
        .immediate(),
    );
  }

  /** In a transaction: the job row goes (and its items' dependency edges), its items are listed for dropPurgedItems. */
  private purge(id: string): void {
    if (this.stmts.jobItemDeps.get(id) === 1) this.stmts.dropEdges.run(id);
    this.stmts.deleteJob.run(id);
    this.stmts.deleteJobDeps.run(id);
    this.stmts.jobIdempotencyKeys.run(id);
    this.stmts.jobCachedResults.run(id);
    this.stmts.notePurged.run(id, Date.now() / 1000);
  }

  async dropPurgedItems(limit: number): Promise<number> {
    return this.use(() =>
      this.db
        .transaction((): number => {
          let dropped = 0;
          for (;;) {
            const jobId = this.stmts.nextPurged.get() as string | undefined;
            if (jobId === undefined) return dropped;
            const budget = limit - dropped;
            const n = this.stmts.dropItems.run(jobId, budget).changes;
            dropped += n;
            if (n === budget) return dropped;
            this.stmts.forgetPurged.run(jobId); // its last piece: nothing of the job is left
          }
        })
        .immediate(),
    );
  }

  async reclaimSpace(): Promise<boolean> {
    // A few thousand pages a call (a few MB), so each call is short. A file made before auto_vacuum was set
    // keeps its free pages for new rows.
    return this.use(() => {
      if (this.db.pragma("auto_vacuum", { simple: true }) !== 2) return false;
      this.db.pragma("incremental_vacuum(2000)");
      return (this.db.pragma("freelist_count", { simple: true }) as number) > 0;
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
