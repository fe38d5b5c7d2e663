import pg from "pg";
import type { FailureReason } from "../../domain/failure.js";
import {
  CANCELLED_BY_USER,
  failedOutcome,
  type ImposedOutcome,
  jobEnd,
  lostItemOutcome,
} from "../../domain/outcome-rules.js";
import { SLOT_ASK_SECONDS } from "../../domain/slot-asks.js";
import { FINAL_JOB_STATUSES, storedItemStatuses, WAITING_ITEM_STATUS } from "../../domain/statuses.js";
import { ConfigError } from "../../errors.js";
import { failedFirstSql } from "../failed-first.js";
import { hasItemDependencies, NOT_STARTED, releaseDependantsCtes, UNENDED } from "../item-dependency-rows.js";
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
  StoreNotice,
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
import { pgDependencies } from "./pg-dependencies.js";
import { PG_MIGRATIONS } from "./pg-migrations.js";

type Db = pg.Pool | pg.PoolClient;

const CHANNEL = "ollama_coder";
const INSERT_BATCH = 10_000;

/** bigint and count(*) as JS numbers (ids and counts stay far below 2^53). */
const types = new pg.TypeOverrides();

/**
 * Connections across a network that may drop: a connect gives up after 10 s (and is tried again by whoever
 * asked) rather than hang for the kernel's two minutes of SYN retries; idle connections (LISTEN's) are probed
 * so that a silently dead one is found. A query in flight across a short loss just waits: TCP delivers it
 * once the network is back.
 */
const NETWORK = { connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
types.setTypeParser(20, (v: string) => Number(v));

/** jsonb arrives parsed. */
const jsonbJson: JsonColumn = (v) => (v === null || v === undefined ? null : (v as JsonObject));
const toJob = (r: Row): JobRecord => toJobRecord(r, jsonbJson);
const toItem = (r: Row): ItemRecord => toItemRecord(r, jsonbJson);

/** Rows each result-cache counter is spread over (see findCachedResult). */
const CACHE_COUNT_SHARDS = 16;

export interface PgStoreOptions {
  /** postgres:// URL; an extra `schema=NAME` query parameter puts the tables in that schema. */
  url: string;
  poolSize?: number;
}

/** Splits our `schema` parameter off a connection URL. */
export function parseDatabaseUrl(url: string): { connectionString: string; schema: string } {
  const u = new URL(url);
  const schema = u.searchParams.get("schema") ?? "public";
  u.searchParams.delete("schema");
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
    throw new ConfigError(`invalid schema name ${JSON.stringify(schema)}`);
  return { connectionString: u.toString(), schema };
}

/**
 * The backend for several API and worker processes on several machines: claims with FOR UPDATE SKIP LOCKED,
 * `parallel` honoured per job across all of them, wake-ups and cancels by LISTEN/NOTIFY.
 */
/** An ended job whose webhook is pending, due by $1 and not leased. */
const PG_WEBHOOK_DUE = `status IN (${FINAL_JOB_STATUSES.map((s) => `'${s}'`).join(", ")})
  AND metadata->'webhook'->>'state' = 'pending'
  AND COALESCE((metadata->'webhook'->>'next_attempt_at')::float8, 0) <= $1::float8
  AND COALESCE((metadata->'webhook'->>'lease_until')::float8, 0) < $1::float8`;

/**
 * The claim, in one statement and so one round trip and one short transaction of its own. Merge point for
 * columns that gate a claim: a job-level gate goes in `job`, an item-level one (e.g. an item's not-before) in
 * `picked`'s WHERE.
 *
 * 1. `job` locks the job's row until this statement commits: claims of the same job queue here for the length
 *    of one statement, claims of other jobs never meet. Under READ COMMITTED a row lock that waited returns
 *    the newest committed version, so `leased` (the job's items in 'running') is exact, and `parallel` holds
 *    across every node. A job that is not running (cancelled, failed, ended) gives no room: nothing claimed.
 * 2. `picked` takes up to min($6, room) queued items in `seq` order, skipping rows another claim holds (a row
 *    taken by a claim that committed after this statement's snapshot is re-checked and skipped).
 * 3. `claimed` leases them to owner $2 (a new attempt: fencing is by owner and attempt), `counted` adds them to
 *    `leased` on the row locked in 1.
 * 4. `starved`: no room while due items wait: the job row says this owner wanted in, and when (`wanted_by`,
 *    `wanted_at`), so that a node whose results free slots offers them before taking them again (slotsWanted);
 *    only an owner that holds less than its share of the job's slots asks (slotShare in src/domain/slot-asks.ts:
 *    the holder of every slot, waiting for its own results to be written, would otherwise ask over the others),
 *    and another owner's ask of the last SLOT_ASK_SECONDS stays.
 */
const CLAIM_ITEMS_SQL = `
WITH job AS (
  SELECT parallel - leased AS room FROM jobs WHERE id = $1 AND status = 'running' FOR UPDATE
), picked AS (
  SELECT i.id FROM items i
  WHERE i.job_id = $1 AND i.status = 'queued' AND (i.not_before IS NULL OR i.not_before <= $5)
  ORDER BY i.seq
  LIMIT COALESCE((SELECT GREATEST(LEAST($6::int, room), 0) FROM job), 0)
  FOR UPDATE OF i SKIP LOCKED
), claimed AS (
  UPDATE items SET status = 'running', attempts = attempts + 1, lease_owner = $2, lease_expires_at = $3,
    worker_id = $4, started_at = $5, not_before = NULL
  WHERE id IN (SELECT id FROM picked)
  RETURNING id, seq, item_id, payload, attempts, dep_failure
), counted AS (
  UPDATE jobs SET leased = leased + (SELECT COUNT(*) FROM claimed)
  WHERE id = $1 AND EXISTS (SELECT 1 FROM claimed)
), starved AS (
  UPDATE jobs SET wanted_by = $2, wanted_at = $5
  WHERE id = $1 AND (SELECT room FROM job) <= 0
    AND (wanted_by IS NULL OR wanted_by = $2 OR wanted_at < $5 - ${SLOT_ASK_SECONDS})
    AND (SELECT COUNT(*) FROM items r WHERE r.job_id = $1 AND r.status = 'running' AND r.lease_owner = $2)
      < CEIL(parallel / 2.0)
    AND EXISTS (
    SELECT 1 FROM items q WHERE q.job_id = $1 AND q.status = 'queued' AND (q.not_before IS NULL OR q.not_before <= $5))
)
SELECT id, seq, item_id, payload, attempts, dep_failure FROM claimed`;

/**
 * A batch of outcomes and the job's counters in one statement. An outcome is accepted only from the lease it
 * was claimed under (owner $7 and its attempt, item still 'running'): a node whose lease lapsed and was
 * handed out again writes nothing. The job row is updated once per batch, never re-read.
 */
const RECORD_OUTCOMES_SQL = `
WITH done AS (
  UPDATE items i SET status = u.status, result = u.result::jsonb, error = u.error, finished_at = u.fin,
    lease_owner = NULL, lease_expires_at = NULL
  FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::float8[])
    AS u(id, attempt, status, result, error, fin)
  WHERE i.id = u.id AND i.job_id = $8 AND i.lease_owner = $7 AND i.attempts = u.attempt AND i.status = 'running'
  RETURNING i.id, i.status, i.finished_at, i.item_id
), ${releaseDependantsCtes("done", "$8")}, c AS (
  SELECT COUNT(*)::int AS n,
    COUNT(*) FILTER (WHERE status = 'succeeded')::int AS ok,
    COUNT(*) FILTER (WHERE status = 'failed')::int AS bad,
    COUNT(*) FILTER (WHERE status = 'skipped')::int AS skip,
    COUNT(*) FILTER (WHERE status = 'cancelled')::int AS stop,
    MAX(finished_at) AS last
  FROM done
), counted AS (
  UPDATE jobs j SET succeeded = j.succeeded + c.ok, failed = j.failed + c.bad, skipped = j.skipped + c.skip,
    cancelled = j.cancelled + c.stop, leased = j.leased - c.n, current_item = COALESCE($9::text, j.current_item),
    updated_at = c.last
  FROM c WHERE j.id = $8 AND c.n > 0
)
SELECT id FROM done`;

/**
 * Failed tries sent back to the queue until their next attempt (automatic retries), fenced like outcomes, their
 * try added to the attempts log, and the job's leased count given back, in one statement.
 */
const RETRY_OUTCOMES_SQL = `
WITH again AS (
  UPDATE items i SET status = 'queued', not_before = u.not_before,
    attempts_log = COALESCE(i.attempts_log, '[]'::jsonb) || jsonb_build_array(u.entry::jsonb),
    lease_owner = NULL, lease_expires_at = NULL
  FROM unnest($1::bigint[], $2::int[], $3::float8[], $4::text[]) AS u(id, attempt, not_before, entry)
  WHERE i.id = u.id AND i.job_id = $6 AND i.lease_owner = $5 AND i.attempts = u.attempt AND i.status = 'running'
  RETURNING i.id
), counted AS (
  UPDATE jobs SET leased = leased - (SELECT COUNT(*) FROM again) WHERE id = $6 AND EXISTS (SELECT 1 FROM again)
)
SELECT id FROM again`;

export class PostgresJobStore implements JobStore {
  readonly backend = "postgres" as const;
  readonly shared = true;
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly connectionString: string;
  private readonly listeners = new Set<pg.Client>();

  private constructor(options: PgStoreOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.connectionString = connectionString;
    this.schema = schema;
    this.pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      types,
      ...NETWORK,
      options: `-c search_path=${schema}`,
    });
    this.pool.on("error", () => undefined); // an idle client lost: the pool replaces it
  }

  /** Connects and migrates (several nodes may start at once: an advisory lock serialises migrations). */
  static async open(options: PgStoreOptions): Promise<PostgresJobStore> {
    const store = new PostgresJobStore(options);
    try {
      await store.migrate();
    } catch (e: unknown) {
      await store.pool.end();
      throw e;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const client = await this.checkout();
    try {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [`ollama_coder_migrate:${this.schema}`]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.schema)}`);
        await client.query(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at DOUBLE PRECISION)",
        );
        const applied = new Set(
          (await client.query("SELECT version FROM schema_migrations")).rows.map(
            (r: Row) => r.version as number,
          ),
        );
        for (const m of PG_MIGRATIONS) {
          if (applied.has(m.version)) continue;
          await client.query("BEGIN");
          try {
            await client.query(m.sql);
            await client.query(
              "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
              [m.version, m.name, Date.now() / 1000],
            );
            await client.query("COMMIT");
          } catch (e: unknown) {
            await client.query("ROLLBACK");
            throw e;
          }
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [
          `ollama_coder_migrate:${this.schema}`,
        ]);
      }
    } finally {
      client.release();
    }
  }

  /**
   * A client of the pool for a transaction. A connection that dies while it is checked out emits 'error' on
   * the client, which would crash the process unhandled: the query in flight fails with it instead (a
   * transient error that the workers wait out).
   */
  private async checkout(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    if (client.listenerCount("error") === 0) client.on("error", () => undefined);
    return client;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (e: unknown) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  private async rows(db: Db, sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await db.query(sql, args)).rows as Row[];
  }

  async createJob(job: NewJob): Promise<void> {
    // Its dependencies' share locks may meet a chain of dependency ends locking the same rows in another
    // order: PostgreSQL then aborts one transaction (deadlock_detected), and this one is simply made again.
    for (let tries = 1; ; tries++) {
      try {
        return await this.insertJob(job);
      } catch (e: unknown) {
        if ((e as { code?: unknown }).code !== "40P01" || tries >= 3) throw e;
      }
    }
  }

  private async insertJob(job: NewJob): Promise<void> {
    const withDeps = hasItemDependencies(job);
    await this.tx(async (c) => {
      await c.query(
        `INSERT INTO jobs (id, type, status, options, metadata, chunk_size, parallel, priority, max_attempts, total,
          created_at, updated_at, run_at, item_deps, on_dependency_failure)
          VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)`,
        [
          job.id,
          job.type,
          job.options,
          job.metadata,
          job.chunkSize,
          job.parallel,
          job.priority,
          job.maxAttempts,
          job.items.length,
          job.createdAt,
          job.runAt ?? null,
          withDeps ? 1 : 0,
          job.onDependencyFailure ?? null,
        ],
      );
      for (let start = 0; start < job.items.length; start += INSERT_BATCH) {
        const batch = job.items.slice(start, start + INSERT_BATCH);
        if (withDeps) {
          await this.insertDependants(c, job.id, start, batch);
          continue;
        }
        await c.query(
          `INSERT INTO items (job_id, seq, item_id, payload)
           SELECT $1, s, i, p::jsonb FROM unnest($2::int[], $3::text[], $4::text[]) AS t(s, i, p)`,
          [
            job.id,
            batch.map((_, k) => start + k),
            batch.map((it) => it.itemId),
            batch.map((it) => JSON.stringify(it.payload)),
          ],
        );
      }
      if (withDeps) await this.insertEdges(c, job);
      await pgDependencies.record(c, job, job.createdAt);
    });
  }

  /** A piece of a job whose items depend on one another: waiting items, and the edges once all are in. */
  private async insertDependants(
    c: Db,
    jobId: string,
    start: number,
    batch: readonly NewItem[],
  ): Promise<void> {
    await c.query(
      `INSERT INTO items (job_id, seq, item_id, payload, status, deps_pending, dep_failure, dep_run)
       SELECT $1, s, i, p::jsonb, CASE WHEN n > 0 THEN '${WAITING_ITEM_STATUS}' ELSE 'queued' END, n, f, r
       FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[]) AS t(s, i, p, n, f, r)`,
      [
        jobId,
        batch.map((_, k) => start + k),
        batch.map((it) => it.itemId),
        batch.map((it) => JSON.stringify(it.payload)),
        batch.map((it) => it.dependsOn?.length ?? 0),
        batch.map((it) => it.depFailure ?? null),
        batch.map((it) => (it.runOnDependencyFailure ? 1 : 0)),
      ],
    );
  }

  /** The dependency edges of a job whose items are all in: row keys found by position, in pieces. */
  private async insertEdges(c: Db, job: NewJob): Promise<void> {
    const edges: [number, number][] = [];
    job.items.forEach((it, seq) => {
      for (const dep of it.dependsOn ?? []) edges.push([seq, dep]);
    });
    for (let start = 0; start < edges.length; start += INSERT_BATCH) {
      const piece = edges.slice(start, start + INSERT_BATCH);
      await c.query(
        `INSERT INTO item_deps (item, dep) SELECT a.id, b.id FROM unnest($2::int[], $3::int[]) AS u(s, d)
         JOIN items a ON a.job_id = $1 AND a.seq = u.s JOIN items b ON b.job_id = $1 AND b.seq = u.d`,
        [job.id, piece.map((e) => e[0]), piece.map((e) => e[1])],
      );
    }
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const [row] = await this.rows(
      this.pool,
      `SELECT *, ${RETRYING_COLUMN}, ${WAITING_COLUMN.postgres} FROM jobs WHERE id = $1`,
      [id],
    );
    return row ? toJob(row) : null;
  }

  async listJobs(filter: JobFilter): Promise<{ jobs: JobRecord[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) where.push(`status = $${args.push(filter.status)}`);
    if (filter.type) where.push(`type = $${args.push(filter.type)}`);
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.rows(this.pool, `SELECT COUNT(*) AS n FROM jobs ${clause}`, args);
    const rows = await this.rows(
      this.pool,
      `SELECT *, ${RETRYING_COLUMN}, ${WAITING_COLUMN.postgres} FROM jobs ${clause} ORDER BY created_at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, filter.limit, filter.offset],
    );
    return { jobs: rows.map(toJob), total: count?.n as number };
  }

  async countJobsByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of await this.rows(this.pool, "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status"))
      counts[r.status as JobStatus] = r.n as number;
    return counts;
  }

  async cancelJob(id: string, now: number, cascade = true): Promise<CancelOutcome> {
    return this.tx(async (c) => {
      const [job] = await this.rows(c, "SELECT status FROM jobs WHERE id = $1 FOR UPDATE", [id]);
      if (!job) return "not_found";
      if (job.status !== "queued" && job.status !== "running") return "finished";
      const cancelled = await c.query(
        `UPDATE items SET status = 'cancelled', finished_at = $2 WHERE job_id = $1 AND status IN ${NOT_STARTED}`,
        [id, now],
      );
      await c.query(
        `UPDATE jobs SET status = 'cancelled', completed_at = $2, updated_at = $2, error = COALESCE(error, $4),
          cancelled = cancelled + $3 WHERE id = $1`,
        [id, now, cancelled.rowCount ?? 0, CANCELLED_BY_USER],
      );
      await pgDependencies.ended(c, id, "cancelled", now, cascade);
      return "cancelled";
    });
  }

  async listItems(jobId: string, filter: ItemFilter): Promise<{ items: ItemRecord[]; total: number }> {
    const where = ["job_id = $1"];
    const args: unknown[] = [jobId];
    if (filter.status !== undefined) {
      const statuses = storedItemStatuses(
        typeof filter.status === "string" ? [filter.status] : filter.status,
      );
      where.push(`status = ANY($${args.push(statuses)}::text[])`);
    }
    if (filter.itemIds !== undefined) where.push(`item_id = ANY($${args.push([...filter.itemIds])}::text[])`);
    if (filter.ended) where.push(`status NOT IN ${UNENDED}`);
    if (filter.afterSeq !== undefined) where.push(`seq > $${args.push(filter.afterSeq)}`);
    const clause = where.join(" AND ");
    const [count] =
      filter.countTotal === false
        ? [{ n: -1 }]
        : await this.rows(this.pool, `SELECT COUNT(*) AS n FROM items WHERE ${clause}`, args);
    const n = args.length;
    const rows = await this.rows(
      this.pool,
      filter.failedFirst
        ? failedFirstSql(clause, `$${n + 1}`, `$${n + 2}`, `$${n + 3}`)
        : `SELECT * FROM items WHERE ${clause} ORDER BY seq LIMIT $${n + 1} OFFSET $${n + 2}`,
      filter.failedFirst
        ? [...args, filter.limit + filter.offset, filter.limit, filter.offset]
        : [...args, filter.limit, filter.offset],
    );
    return { items: rows.map(toItem), total: count?.n as number };
  }

  async dueWebhooks(now: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM jobs WHERE ${PG_WEBHOOK_DUE} ORDER BY completed_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.id);
  }

  async claimWebhook(id: string, owner: string, now: number, leaseUntil: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE jobs SET metadata = jsonb_set(jsonb_set(metadata, '{webhook,lease_owner}', to_jsonb($3::text)),
         '{webhook,lease_until}', to_jsonb($4::float8))
       WHERE id = $2 AND ${PG_WEBHOOK_DUE}`,
      [now, id, owner, leaseUntil],
    );
    return rowCount === 1;
  }

  async mergeJobMetadata(id: string, patch: JsonObject): Promise<void> {
    await this.pool.query("UPDATE jobs SET metadata = metadata || $2::jsonb WHERE id = $1", [
      id,
      JSON.stringify(patch),
    ]);
  }

  /** The database answers and is not read-only (a standby, or a server in recovery). */
  /** A database that is down shows in each call (which the workers retry); nothing is refused ahead of it. */
  unavailable(): string | null {
    return null;
  }

  async checkWritable(): Promise<void> {
    const { rows } = await this.pool.query("SELECT pg_is_in_recovery() AS standby");
    if ((rows[0] as Row | undefined)?.standby)
      throw new StoreUnavailableError("the database is in recovery (read-only)");
  }

  async queueDepth(): Promise<number> {
    const [row] = await this.rows(
      this.pool,
      `SELECT (SELECT COUNT(*) FROM items WHERE status = 'queued')
        + (SELECT COUNT(*) FROM items WHERE status = '${WAITING_ITEM_STATUS}') AS n`,
    );
    return row?.n as number;
  }

  async nextRunnableJob(excludeIds: readonly string[], now: number): Promise<JobRecord | null> {
    const [row] = await this.rows(
      this.pool,
      `SELECT * FROM jobs j WHERE j.status IN ('queued', 'running') AND NOT (j.id = ANY($1::text[]))
        AND (j.run_at IS NULL OR j.run_at <= $2)
        AND (EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status = 'queued'
          AND (i.not_before IS NULL OR i.not_before <= $2))
          OR (j.status = 'queued' AND j.total = 0 AND j.metadata->'inputs'->>'state' = 'pending'))
        AND j.leased < j.parallel
        AND NOT EXISTS (SELECT 1 FROM job_deps d WHERE d.job_id = j.id AND d.pending = 1)
        ORDER BY j.priority DESC, j.served_at ASC NULLS FIRST, j.created_at ASC LIMIT 1`,
      [excludeIds, now],
    );
    return row ? toJob(row) : null;
  }

  async startJob(id: string, now: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, $2), served_at = $2, updated_at = $2
        WHERE id = $1 AND status IN ('queued', 'running')`,
      [id, now],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async endTurn(id: string, now: number): Promise<void> {
    await this.pool.query("UPDATE jobs SET served_at = $2 WHERE id = $1", [id, now]);
  }

  async setJobPriority(id: string, priority: number, now: number): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE jobs SET priority = $2, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'running')",
      [id, priority, now],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async failJob(id: string, error: string, now: number, failure?: FailureReason): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        "UPDATE jobs SET status = 'failed', error = $2, completed_at = $3, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'running')",
        [id, error, now],
      );
      if ((r.rowCount ?? 0) === 0) return false;
      const o = failedOutcome(error, failure);
      const items = await c.query(
        `UPDATE items SET status = $2, error = $3, result = $4, finished_at = $5
          WHERE job_id = $1 AND status IN ${NOT_STARTED}`,
        [id, o.status, o.error, JSON.stringify(o.result), now],
      );
      await c.query("UPDATE jobs SET failed = failed + $2 WHERE id = $1", [id, items.rowCount ?? 0]);
      await pgDependencies.ended(c, id, "failed", now, false);
      return true;
    });
  }

  async claimItems(
    jobId: string,
    owner: string,
    limit: number,
    leaseExpiresAt: number,
    now: number,
  ): Promise<ClaimedItem[]> {
    const { rows } = await this.pool.query({
      name: "oc_claim_items",
      text: CLAIM_ITEMS_SQL,
      values: [jobId, owner, leaseExpiresAt, workerIdOf(owner), now, limit],
    });
    return (rows as Row[])
      .map((r) => ({
        key: r.id as number,
        jobId,
        seq: r.seq as number,
        itemId: r.item_id as string,
        payload: (r.payload as JsonObject) ?? {},
        attempt: r.attempts as number,
        ...(r.dep_failure ? { depFailure: r.dep_failure as string } : {}),
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async askForSlots(excludeIds: readonly string[], owner: string, now: number): Promise<void> {
    // The job this process would run next if it had room: the order of nextRunnableJob, among running jobs
    // whose slots are all taken. An ask already made by this owner in the last second is not made again.
    await this.pool.query(
      `UPDATE jobs SET wanted_by = $2, wanted_at = $3 WHERE id = (
        SELECT j.id FROM jobs j WHERE j.status = 'running' AND NOT (j.id = ANY($1::text[]))
          AND j.leased >= j.parallel
          AND EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status = 'queued'
            AND (i.not_before IS NULL OR i.not_before <= $3))
        ORDER BY j.priority DESC, j.served_at ASC NULLS FIRST, j.created_at ASC LIMIT 1)
      AND (wanted_by IS NULL OR (wanted_by = $2 AND wanted_at < $3 - 1) OR wanted_at < $3 - ${SLOT_ASK_SECONDS})`,
      [excludeIds, owner, now],
    );
  }

  async slotsWanted(jobId: string): Promise<{ owner: string; at: number } | null> {
    const [row] = await this.rows(
      this.pool,
      "SELECT wanted_by, wanted_at FROM jobs WHERE id = $1 AND wanted_by IS NOT NULL",
      [jobId],
    );
    return row ? { owner: row.wanted_by as string, at: row.wanted_at as number } : null;
  }

  async nextRetryAt(jobId: string): Promise<number | null> {
    const [row] = await this.rows(
      this.pool,
      "SELECT MIN(not_before) AS at FROM items WHERE job_id = $1 AND status = 'queued' AND not_before IS NOT NULL",
      [jobId],
    );
    return (row?.at as number | null | undefined) ?? null;
  }

  async renewLeases(owner: string, leaseExpiresAt: number): Promise<number> {
    const r = await this.pool.query(
      "UPDATE items SET lease_expires_at = $2 WHERE lease_owner = $1 AND status = 'running'",
      [owner, leaseExpiresAt],
    );
    return r.rowCount ?? 0;
  }

  async recordOutcomes(
    jobId: string,
    owner: string,
    outcomes: ItemOutcome[],
    currentItem: string | null,
  ): Promise<ItemOutcome[]> {
    if (outcomes.length === 0) return [];
    const retried = outcomes.filter((o) => o.retry);
    const ended = retried.length === 0 ? outcomes : outcomes.filter((o) => !o.retry);
    const accepted: Row[] = [];
    if (ended.length > 0) {
      const { rows } = await this.pool.query({
        name: "oc_record_outcomes",
        text: RECORD_OUTCOMES_SQL,
        values: [
          ended.map((o) => o.key),
          ended.map((o) => o.attempt),
          ended.map((o) => o.status),
          ended.map((o) => (o.result === null ? null : JSON.stringify(o.result))),
          ended.map((o) => o.error),
          ended.map((o) => o.finishedAt),
          owner,
          jobId,
          currentItem,
        ],
      });
      accepted.push(...rows);
    }
    if (retried.length > 0) {
      const { rows } = await this.pool.query({
        name: "oc_retry_outcomes",
        text: RETRY_OUTCOMES_SQL,
        values: [
          retried.map((o) => o.key),
          retried.map((o) => o.attempt),
          retried.map((o) => o.retry?.notBefore),
          retried.map((o) => JSON.stringify(o.retry?.entry)),
          owner,
          jobId,
        ],
      });
      accepted.push(...rows);
    }
    const ids = new Set(accepted.map((r) => r.id as number));
    return outcomes.filter((o) => ids.has(o.key));
  }

  async releaseItems(jobId: string, owner: string, keys: readonly number[]): Promise<number> {
    if (keys.length === 0) return 0;
    const [row] = await this.rows(
      this.pool,
      `WITH back AS (
        UPDATE items SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_expires_at = NULL,
          worker_id = NULL, started_at = NULL
          WHERE id = ANY($1::bigint[]) AND job_id = $2 AND lease_owner = $3 AND status = 'running'
          RETURNING 1),
      n AS (SELECT COUNT(*)::int AS n FROM back),
      counted AS (UPDATE jobs SET leased = leased - n.n FROM n WHERE id = $2 AND n.n > 0)
      SELECT n FROM n`,
      [keys, jobId, owner],
    );
    return (row?.n as number | undefined) ?? 0;
  }

  async leaseOwners(): Promise<string[]> {
    const rows = await this.rows(
      this.pool,
      "SELECT DISTINCT lease_owner FROM items WHERE status = 'running' AND lease_owner IS NOT NULL",
    );
    return rows.map((r) => r.lease_owner as string);
  }

  async sweepLeases(now: number, deadOwners: readonly string[]): Promise<LeaseSweep> {
    return this.tx(async (c) => {
      const lost = await this.rows(
        c,
        `SELECT i.id, i.job_id, i.attempts, j.max_attempts, j.status AS job_status, j.metadata AS job_metadata
          FROM items i JOIN jobs j ON j.id = i.job_id
          WHERE i.status = 'running' AND (i.lease_expires_at < $1 OR i.lease_owner = ANY($2::text[]))
          FOR UPDATE OF i SKIP LOCKED`,
        [now, deadOwners],
      );
      const requeue: { id: number; notBefore: number; entry: string }[] = [];
      const abandon: ({ id: number; job: string } & ImposedOutcome)[] = [];
      // Per job: items that leave 'running' (all of them), and of those, the ones given up as failed/cancelled.
      const perJob = new Map<string, { lost: number; failed: number; cancelled: number }>();
      for (const r of lost) {
        const job = r.job_id as string;
        const counts = perJob.get(job) ?? { lost: 0, failed: 0, cancelled: 0 };
        perJob.set(job, counts);
        counts.lost++;
        const o = lostItemOutcome({
          attempts: r.attempts as number,
          maxAttempts: r.max_attempts as number,
          jobStatus: r.job_status as JobStatus,
          jobMetadata: jsonbJson(r.job_metadata) ?? {},
          now,
        });
        if ("notBefore" in o)
          requeue.push({ id: r.id as number, notBefore: o.notBefore, entry: JSON.stringify(o.entry) });
        else {
          abandon.push({ id: r.id as number, job, ...o });
          counts[o.status]++;
        }
      }
      if (requeue.length)
        await c.query(
          `UPDATE items i SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, worker_id = NULL,
            not_before = u.not_before,
            attempts_log = COALESCE(i.attempts_log, '[]'::jsonb) || jsonb_build_array(u.entry::jsonb)
            FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS u(id, not_before, entry) WHERE i.id = u.id`,
          [requeue.map((q) => q.id), requeue.map((q) => q.notBefore), requeue.map((q) => q.entry)],
        );
      for (const a of abandon)
        await c.query(
          "UPDATE items SET status = $2, error = $3, result = $4, finished_at = $5, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
          [a.id, a.status, a.error, JSON.stringify(a.result), now],
        );
      for (const a of abandon)
        await c.query(
          `WITH ended AS (SELECT id, status, item_id FROM items WHERE id = $1), ${releaseDependantsCtes("ended", "$2")}
          SELECT 1`,
          [a.id, a.job],
        );
      if (perJob.size > 0) {
        const jobs = [...perJob];
        await c.query(
          `UPDATE jobs j SET leased = j.leased - u.lost, failed = j.failed + u.failed,
            cancelled = j.cancelled + u.cancelled,
            updated_at = CASE WHEN u.failed + u.cancelled > 0 THEN $5 ELSE j.updated_at END
            FROM unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS u(id, lost, failed, cancelled)
            WHERE j.id = u.id`,
          [
            jobs.map(([id]) => id),
            jobs.map(([, n]) => n.lost),
            jobs.map(([, n]) => n.failed),
            jobs.map(([, n]) => n.cancelled),
            now,
          ],
        );
      }
      return {
        requeued: requeue.length,
        abandoned: abandon.length,
        jobIds: [...new Set(lost.map((r) => r.job_id as string))],
      };
    });
  }

  async finalizeJob(id: string, now: number): Promise<JobStatus | null> {
    return this.tx(async (c) => {
      const [job] = await this.rows(c, "SELECT * FROM jobs WHERE id = $1 FOR UPDATE", [id]);
      if (job?.status !== "running") return null;
      const [left] = await this.rows(
        c,
        `SELECT COUNT(*) AS n FROM items WHERE job_id = $1 AND status IN ${UNENDED}`,
        [id],
      );
      if ((left?.n as number) > 0) return null;
      const { status, error } = jobEnd({ failed: job.failed as number, total: job.total as number });
      await c.query(
        "UPDATE jobs SET status = $2, error = $3, completed_at = $4, current_item = NULL, updated_at = $4 WHERE id = $1",
        [id, status, error, now],
      );
      await pgDependencies.ended(c, id, status, now, false);
      return status;
    });
  }

  // --- workflows ---

  async createWorkflow(w: WorkflowRecord): Promise<void> {
    await this.pool.query(
      "INSERT INTO workflows (id, name, created_at, jobs, spec) VALUES ($1, $2, $3, $4, $5)",
      [w.id, w.name, w.createdAt, JSON.stringify(w.jobs), JSON.stringify(w.spec)],
    );
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | null> {
    const [row] = await this.rows(this.pool, "SELECT * FROM workflows WHERE id = $1", [id]);
    return row ? toWorkflowRecord(row, jsonbJson) : null;
  }

  async dropEmptyWorkflows(createdBefore: number, limit: number): Promise<string[]> {
    const rows = await this.rows(
      this.pool,
      `DELETE FROM workflows WHERE id IN (SELECT w.id FROM workflows w WHERE w.created_at < $1
        AND NOT EXISTS (SELECT 1 FROM jsonb_each_text(w.jobs) j JOIN jobs ON jobs.id = j.value) LIMIT $2)
      RETURNING id`,
      [createdBefore, limit],
    );
    return rows.map((r) => r.id as string);
  }

  async listWorkflows(page: { limit: number; offset: number }): Promise<{
    workflows: WorkflowRecord[];
    total: number;
  }> {
    const [count] = await this.rows(this.pool, "SELECT COUNT(*) AS n FROM workflows");
    const rows = await this.rows(
      this.pool,
      "SELECT * FROM workflows ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2",
      [page.limit, page.offset],
    );
    return { workflows: rows.map((r) => toWorkflowRecord(r, jsonbJson)), total: Number(count?.n ?? 0) };
  }

  async fillJobItems(
    id: string,
    items: readonly NewItem[],
    metadata: JsonObject,
    now: number,
  ): Promise<boolean> {
    return this.tx(async (c) => {
      const r = await c.query(
        `UPDATE jobs SET total = $2, metadata = metadata || $3::jsonb, updated_at = $4,
          status = CASE WHEN $2 = 0 THEN 'running' ELSE status END,
          started_at = CASE WHEN $2 = 0 THEN $4 ELSE started_at END
        WHERE id = $1 AND status = 'queued' AND metadata->'inputs'->>'state' = 'pending'
          AND NOT EXISTS (SELECT 1 FROM items WHERE job_id = $1)`,
        [id, items.length, JSON.stringify(metadata), now],
      );
      if ((r.rowCount ?? 0) === 0) return false;
      if (items.length > 0)
        await c.query(
          `INSERT INTO items (job_id, seq, item_id, payload)
           SELECT $1, s, i, p::jsonb FROM unnest($2::int[], $3::text[], $4::text[]) AS t(s, i, p)`,
          [
            id,
            items.map((_, k) => k),
            items.map((it) => it.itemId),
            items.map((it) => JSON.stringify(it.payload)),
          ],
        );
      return true;
    });
  }

  // --- schedules ---

  async createSchedule(s: ScheduleRecord): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO schedules (name, cron, timezone, job, paused, next_run_at, last_fired_at, last_job_id,
        created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
      [s.name, s.cron, s.timezone, s.job, s.paused, s.nextRunAt, s.lastFiredAt, s.lastJobId, s.createdAt],
    );
    return r.rowCount === 1;
  }

  async getSchedule(name: string): Promise<ScheduleRecord | null> {
    const [row] = await this.rows(this.pool, "SELECT * FROM schedules WHERE name = $1", [name]);
    return row ? toScheduleRecord(row, jsonbJson) : null;
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    const rows = await this.rows(this.pool, "SELECT * FROM schedules ORDER BY name");
    return rows.map((r) => toScheduleRecord(r, jsonbJson));
  }

  async deleteSchedule(name: string): Promise<boolean> {
    return (await this.pool.query("DELETE FROM schedules WHERE name = $1", [name])).rowCount === 1;
  }

  async setSchedulePaused(name: string, paused: boolean, nextRunAt: number): Promise<ScheduleRecord | null> {
    const [row] = await this.rows(
      this.pool,
      "UPDATE schedules SET paused = $2, next_run_at = $3 WHERE name = $1 RETURNING *",
      [name, paused, nextRunAt],
    );
    return row ? toScheduleRecord(row, jsonbJson) : null;
  }

  async claimScheduleTick(
    name: string,
    expectedNextRunAt: number,
    firedAt: number,
    nextRunAt: number,
  ): Promise<boolean> {
    // One statement: of two nodes updating the same row, the second re-reads it after the first commits, finds
    // next_run_at moved on, and updates nothing.
    const r = await this.pool.query(
      `UPDATE schedules SET next_run_at = $3, last_fired_at = $4
      WHERE name = $1 AND NOT paused AND next_run_at = $2`,
      [name, expectedNextRunAt, nextRunAt, firedAt],
    );
    return r.rowCount === 1;
  }

  async recordScheduleJob(name: string, firedAt: number, jobId: string): Promise<void> {
    await this.pool.query("UPDATE schedules SET last_job_id = $3 WHERE name = $1 AND last_fired_at = $2", [
      name,
      firedAt,
      jobId,
    ]);
  }

  async claimIdempotencyKey(
    key: string,
    fingerprint: string,
    jobId: string,
    now: number,
    expiredBefore: number,
  ): Promise<IdempotencyRecord | null> {
    // One statement: the insert wins, or replaces an expired holder; else the holder is read back. Two nodes
    // asking at once serialise on the key's row.
    for (;;) {
      const [taken] = await this.rows(
        this.pool,
        `INSERT INTO idempotency_keys (key, fingerprint, job_id, created_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, job_id = EXCLUDED.job_id,
          created_at = EXCLUDED.created_at WHERE idempotency_keys.created_at < $5
        RETURNING job_id`,
        [key, fingerprint, jobId, now, expiredBefore],
      );
      if (taken) return null;
      const [held] = await this.rows(
        this.pool,
        "SELECT fingerprint, job_id, created_at FROM idempotency_keys WHERE key = $1",
        [key],
      );
      // Released between the two statements: ask again.
      if (held)
        return {
          fingerprint: held.fingerprint as string,
          jobId: held.job_id as string,
          createdAt: Number(held.created_at),
        };
    }
  }

  async takeOverIdempotencyKey(
    key: string,
    staleJobId: string,
    fingerprint: string,
    jobId: string,
    now: number,
  ): Promise<boolean> {
    const r = await this.pool.query(
      "UPDATE idempotency_keys SET fingerprint = $3, job_id = $4, created_at = $5 WHERE key = $1 AND job_id = $2",
      [key, staleJobId, fingerprint, jobId, now],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async releaseIdempotencyKey(key: string, jobId: string): Promise<void> {
    await this.pool.query("DELETE FROM idempotency_keys WHERE key = $1 AND job_id = $2", [key, jobId]);
  }

  async dropExpiredIdempotencyKeys(before: number): Promise<number> {
    return (
      (await this.pool.query("DELETE FROM idempotency_keys WHERE created_at < $1", [before])).rowCount ?? 0
    );
  }

  async findCachedResult(keyHash: string, now: number): Promise<CachedResult | null> {
    // One statement: the entry read and the lookup counted together, on one of CACHE_COUNT_SHARDS rows per
    // counter (`hits:7`): lookups of every node at once would otherwise queue on one row's lock.
    const [row] = await this.rows(
      this.pool,
      `WITH hit AS (SELECT key_hash, result, job_id, created_at, expires_at FROM result_cache
          WHERE key_hash = $1 AND expires_at > $2),
        counted AS (INSERT INTO result_cache_counts (name, n)
          VALUES ((CASE WHEN EXISTS (SELECT 1 FROM hit) THEN 'hits:' ELSE 'misses:' END) || $3::text, 1)
          ON CONFLICT (name) DO UPDATE SET n = result_cache_counts.n + 1)
      SELECT * FROM hit`,
      [keyHash, now, Math.floor(Math.random() * CACHE_COUNT_SHARDS)],
    );
    return row ? toCachedResult(row, jsonbJson) : null;
  }

  async saveCachedResult(e: CachedResult): Promise<void> {
    await this.pool.query(
      `INSERT INTO result_cache (key_hash, result, job_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (key_hash) DO UPDATE SET result = EXCLUDED.result, job_id = EXCLUDED.job_id,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at`,
      [e.keyHash, JSON.stringify(e.result), e.jobId, e.createdAt, e.expiresAt],
    );
  }

  async dropExpiredCachedResults(now: number, limit: number): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM result_cache WHERE key_hash IN
        (SELECT key_hash FROM result_cache WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, limit],
    );
    return r.rowCount ?? 0;
  }

  async cacheCounts(now: number): Promise<CacheCounts> {
    const counts = await this.rows(
      this.pool,
      "SELECT split_part(name, ':', 1) AS name, SUM(n) AS n FROM result_cache_counts GROUP BY 1",
    );
    const [entries] = await this.rows(
      this.pool,
      "SELECT COUNT(*) AS n FROM result_cache WHERE expires_at > $1",
      [now],
    );
    return cacheCountsOf(counts, Number(entries?.n ?? 0));
  }

  async purgeJob(id: string): Promise<PurgeOutcome> {
    return this.tx(async (c) => {
      const [job] = await this.rows(c, "SELECT status FROM jobs WHERE id = $1 FOR UPDATE", [id]);
      if (!job) return "not_found";
      if (!FINAL_JOB_STATUSES.includes(job.status as JobStatus)) return "not_ended";
      const running = await c.query("SELECT 1 FROM items WHERE job_id = $1 AND status = 'running' LIMIT 1", [
        id,
      ]);
      if ((running.rowCount ?? 0) > 0) return "finishing";
      await c.query("DELETE FROM jobs WHERE id = $1", [id]);
      await c.query("DELETE FROM job_deps WHERE job_id = $1", [id]);
      await c.query("DELETE FROM idempotency_keys WHERE job_id = $1", [id]);
      await c.query("DELETE FROM result_cache WHERE job_id = $1", [id]);
      await c.query("INSERT INTO purged_jobs (job_id, purged_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
        id,
        Date.now() / 1000,
      ]);
      return "purged";
    });
  }

  async purgeEndedJobs(
    endedBefore: number,
    statuses: readonly JobStatus[] | null,
    limit: number,
  ): Promise<string[]> {
    const wanted = (statuses ?? FINAL_JOB_STATUSES).filter((x) => FINAL_JOB_STATUSES.includes(x));
    // Several nodes may sweep at once: each takes jobs the others have not locked.
    const rows = await this.rows(
      this.pool,
      `WITH gone AS (
        DELETE FROM jobs WHERE id IN (
          SELECT id FROM jobs j WHERE completed_at IS NOT NULL AND completed_at < $1 AND status = ANY($2)
            AND NOT EXISTS (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status = 'running')
          ORDER BY completed_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING id),
      keys AS (DELETE FROM idempotency_keys WHERE job_id IN (SELECT id FROM gone)),
      deps AS (DELETE FROM job_deps WHERE job_id IN (SELECT id FROM gone)),
      cached AS (DELETE FROM result_cache WHERE job_id IN (SELECT id FROM gone))
      INSERT INTO purged_jobs (job_id, purged_at) SELECT id, $4 FROM gone ON CONFLICT DO NOTHING RETURNING job_id`,
      [endedBefore, wanted, limit, Date.now() / 1000],
    );
    return rows.map((r) => r.job_id as string);
  }

  async dropPurgedItems(limit: number): Promise<number> {
    return this.tx(async (c) => {
      let dropped = 0;
      for (;;) {
        const [next] = await this.rows(
          c,
          "SELECT job_id FROM purged_jobs ORDER BY purged_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        );
        if (!next) return dropped;
        const budget = limit - dropped;
        const n =
          (
            await c.query(
              `WITH gone AS (DELETE FROM items WHERE id IN (SELECT id FROM items WHERE job_id = $1 LIMIT $2)
                RETURNING id), edges AS (DELETE FROM item_deps WHERE item IN (SELECT id FROM gone))
              SELECT id FROM gone`,
              [next.job_id, budget],
            )
          ).rowCount ?? 0;
        dropped += n;
        if (n === budget) return dropped;
        await c.query("DELETE FROM purged_jobs WHERE job_id = $1", [next.job_id]);
      }
    });
  }

  async reclaimSpace(): Promise<boolean> {
    // autovacuum's: deleted rows' space is reused by new ones, and the operator's VACUUM FULL returns it.
    return false;
  }

  async dependentsOf(id: string): Promise<string[]> {
    return pgDependencies.dependentsOf(this.pool, id);
  }

  async releaseEndedDependencies(now: number, limit: number): Promise<string[]> {
    return this.tx((c) => pgDependencies.releaseEnded(c, now, limit));
  }

  async idleRunningJobs(): Promise<string[]> {
    const rows = await this.rows(
      this.pool,
      `SELECT id FROM jobs j WHERE status = 'running' AND NOT EXISTS
        (SELECT 1 FROM items i WHERE i.job_id = j.id AND i.status IN ${UNENDED})`,
    );
    return rows.map((r) => r.id as string);
  }

  async publish(notice: StoreNotice): Promise<void> {
    await this.pool.query("SELECT pg_notify($1, $2)", [`${CHANNEL}_${this.schema}`, JSON.stringify(notice)]);
  }

  async subscribe(listener: (notice: StoreNotice) => void): Promise<() => Promise<void>> {
    let closed = false;
    let client: pg.Client | null = null;
    const channel = pg.escapeIdentifier(`${CHANNEL}_${this.schema}`);
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.connectionString, types, ...NETWORK });
      c.on("notification", (msg) => {
        if (!msg.payload) return;
        try {
          listener(JSON.parse(msg.payload) as StoreNotice);
        } catch {
          /* not ours */
        }
      });
      let lost = false;
      const onLost = () => {
        if (lost) return;
        lost = true;
        this.listeners.delete(c);
        void c.end().catch(() => undefined);
        reconnect(1000);
      };
      c.on("error", onLost);
      c.on("end", onLost);
      try {
        await c.connect();
        await c.query(`LISTEN ${channel}`);
      } catch (e: unknown) {
        lost = true; // this attempt is over; the caller decides whether to try again
        void c.end().catch(() => undefined);
        throw e;
      }
      client = c;
      this.listeners.add(c);
    };
    // The database restarted or the connection dropped: listen again as soon as it answers, however long.
    const reconnect = (delayMs: number): void => {
      if (closed) return;
      setTimeout(() => {
        if (!closed) void connect().catch(() => reconnect(Math.min(delayMs * 2, 30_000)));
      }, delayMs).unref();
    };
    await connect();
    return async () => {
      closed = true;
      if (client) {
        this.listeners.delete(client);
        await client.end().catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    for (const c of this.listeners) await c.end().catch(() => undefined);
    this.listeners.clear();
    await this.pool.end();
  }
}
