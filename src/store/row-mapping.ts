import { DEFAULT_DEPENDENCY_FAILURE_POLICY } from "../domain/dependencies.js";
import type { AttemptLogEntry } from "../domain/retry-policy.js";
import { answeredItemStatus } from "../domain/statuses.js";
import type { WorkflowRecord, WorkflowSpec } from "../domain/workflow.js";
import type {
  CacheCounts,
  CachedResult,
  ItemRecord,
  JobRecord,
  JobStatus,
  JsonObject,
  ScheduleRecord,
} from "./job-store.js";

export type Row = Record<string, unknown>;

/**
 * A jobs query's extra column (both engines): its items waiting for an automatic retry, through the
 * items_retrying index (only such items are in it).
 */
export const RETRYING_COLUMN = `(SELECT COUNT(*) FROM items r WHERE r.job_id = jobs.id AND r.status = 'queued'
  AND r.not_before IS NOT NULL) AS retrying`;

/**
 * A jobs query's extra column: the dependencies the job still waits for (its pending job_deps rows), read only
 * for a job that has dependencies. SQLite answers JSON text, PostgreSQL a text[].
 */
export const WAITING_COLUMN = {
  sqlite: `CASE WHEN jobs.depends_on IS NULL THEN NULL ELSE (SELECT json_group_array(d.dep_id) FROM job_deps d
    WHERE d.job_id = jobs.id AND d.pending = 1) END AS waiting_for`,
  postgres: `CASE WHEN jobs.depends_on IS NULL THEN NULL ELSE ARRAY(SELECT d.dep_id FROM job_deps d
    WHERE d.job_id = jobs.id AND d.pending = 1) END AS waiting_for`,
} as const;

/** A list of ids from a JSON text, a jsonb array or a text[] column; NULL: none. */
function idsOf(v: unknown): string[] {
  const parsed = typeof v === "string" ? (JSON.parse(v) as unknown) : v;
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** How a backend turns a JSON column into an object (SQLite stores text, PostgreSQL's jsonb arrives parsed). */
export type JsonColumn = (value: unknown) => JsonObject | null;

/** A `jobs` row as a JobRecord, on any backend. */
export function toJobRecord(r: Row, json: JsonColumn): JobRecord {
  return {
    id: r.id as string,
    type: r.type as string,
    status: r.status as JobStatus,
    options: json(r.options) ?? {},
    metadata: json(r.metadata) ?? {},
    error: (r.error as string | null) ?? null,
    chunkSize: r.chunk_size as number,
    parallel: r.parallel as number,
    priority: r.priority as number,
    maxAttempts: r.max_attempts as number,
    total: r.total as number,
    succeeded: r.succeeded as number,
    failed: r.failed as number,
    skipped: r.skipped as number,
    cancelled: r.cancelled as number,
    currentItem: (r.current_item as string | null) ?? null,
    retrying: Number(r.retrying ?? 0),
    ...(r.item_deps ? { itemDependencies: true } : {}),
    createdAt: r.created_at as number,
    startedAt: (r.started_at as number | null) ?? null,
    completedAt: (r.completed_at as number | null) ?? null,
    updatedAt: r.updated_at as number,
    ...dependenciesOf(r),
  };
}

/** A job row's dependencies: all of them in their submitted order, and those still waited for. */
function dependenciesOf(r: Row): Pick<JobRecord, "dependsOn" | "waitingFor" | "onDependencyFailure"> {
  const dependsOn = idsOf(r.depends_on);
  const pending = new Set(idsOf(r.waiting_for));
  return {
    dependsOn,
    waitingFor: dependsOn.filter((id) => pending.has(id)),
    onDependencyFailure: r.on_dependency_failure === "run" ? "run" : DEFAULT_DEPENDENCY_FAILURE_POLICY,
  };
}

/** The attempts_log column (SQLite: JSON text; PostgreSQL: jsonb, parsed), an array; NULL: none. */
function attemptsLogOf(v: unknown): AttemptLogEntry[] {
  const parsed = typeof v === "string" ? (JSON.parse(v) as unknown) : v;
  return Array.isArray(parsed) ? (parsed as AttemptLogEntry[]) : [];
}

/** An `items` row as an ItemRecord, on any backend. */
export function toItemRecord(r: Row, json: JsonColumn): ItemRecord {
  return {
    seq: r.seq as number,
    itemId: r.item_id as string,
    payload: json(r.payload) ?? {},
    status: answeredItemStatus(r.status as string),
    attempts: r.attempts as number,
    result: json(r.result),
    error: (r.error as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
    startedAt: (r.started_at as number | null) ?? null,
    finishedAt: (r.finished_at as number | null) ?? null,
    // Only a queued item waits for a next try: one cancelled or failed while it waited has none.
    notBefore: r.status === "queued" ? ((r.not_before as number | null) ?? null) : null,
    attemptsLog: attemptsLogOf(r.attempts_log),
  };
}

/** A `schedules` row as a ScheduleRecord, on any backend (SQLite's paused is 0/1). */
export function toScheduleRecord(r: Row, json: JsonColumn): ScheduleRecord {
  return {
    name: r.name as string,
    cron: r.cron as string,
    timezone: r.timezone as string,
    job: json(r.job) ?? {},
    paused: Boolean(r.paused),
    nextRunAt: r.next_run_at as number,
    lastFiredAt: (r.last_fired_at as number | null) ?? null,
    lastJobId: (r.last_job_id as string | null) ?? null,
    createdAt: r.created_at as number,
  };
}

/** A `workflows` row as a WorkflowRecord, on any backend. */
export function toWorkflowRecord(r: Row, json: JsonColumn): WorkflowRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    createdAt: Number(r.created_at),
    jobs: (json(r.jobs) ?? {}) as Record<string, string>,
    spec: json(r.spec) as unknown as WorkflowSpec,
  };
}

/** A `result_cache` row as a CachedResult, on any backend. */
export function toCachedResult(r: Row, json: JsonColumn): CachedResult {
  return {
    keyHash: r.key_hash as string,
    result: json(r.result) ?? {},
    jobId: r.job_id as string,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

/** The cache's counts from `result_cache_counts` rows (PostgreSQL's bigint arrives as a string). */
export function cacheCountsOf(rows: Row[], entries: number): CacheCounts {
  const n = (name: string) => Number(rows.find((r) => r.name === name)?.n ?? 0);
  return { hits: n("hits"), misses: n("misses"), entries: Number(entries) };
}
