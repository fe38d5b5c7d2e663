import type { Migration } from "../sqlite/migrations.js";

/** Versioned schema for PostgreSQL: the same tables and columns as SQLite (times are epoch seconds). */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "jobs and items",
    sql: `
CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  status        TEXT NOT NULL,
  options       JSONB NOT NULL DEFAULT '{}',
  metadata      JSONB NOT NULL DEFAULT '{}',
  error         TEXT,
  chunk_size    INTEGER NOT NULL,
  parallel      INTEGER NOT NULL,
  priority      INTEGER NOT NULL DEFAULT 0,
  run_at        DOUBLE PRECISION,
  max_attempts  INTEGER NOT NULL DEFAULT 3,
  depends_on    JSONB,
  total         INTEGER NOT NULL,
  succeeded     INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  skipped       INTEGER NOT NULL DEFAULT 0,
  cancelled     INTEGER NOT NULL DEFAULT 0,
  current_item  TEXT,
  created_at    DOUBLE PRECISION NOT NULL,
  started_at    DOUBLE PRECISION,
  completed_at  DOUBLE PRECISION,
  updated_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX jobs_by_created ON jobs (created_at);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_type ON jobs (type, created_at);

CREATE TABLE items (
  id                BIGSERIAL PRIMARY KEY,
  job_id            TEXT NOT NULL,
  seq               INTEGER NOT NULL,
  item_id           TEXT NOT NULL,
  payload           JSONB NOT NULL,
  status            TEXT NOT NULL DEFAULT 'queued',
  attempts          INTEGER NOT NULL DEFAULT 0,
  lease_owner       TEXT,
  lease_expires_at  DOUBLE PRECISION,
  result            JSONB,
  error             TEXT,
  worker_id         TEXT,
  started_at        DOUBLE PRECISION,
  finished_at       DOUBLE PRECISION
);
CREATE UNIQUE INDEX items_by_job ON items (job_id, seq);
CREATE INDEX items_queued ON items (job_id, seq) WHERE status = 'queued';
CREATE INDEX items_leased ON items (lease_owner, lease_expires_at) WHERE status = 'running';
CREATE INDEX items_running_by_job ON items (job_id) WHERE status = 'running';
`,
  },
  {
    version: 2,
    name: "retention: purged jobs, ended jobs by age",
    sql: `
CREATE TABLE purged_jobs (job_id TEXT PRIMARY KEY, purged_at DOUBLE PRECISION NOT NULL);
CREATE INDEX jobs_by_end ON jobs (completed_at) WHERE completed_at IS NOT NULL;
`,
  },
  {
    version: 3,
    name: "idempotency keys",
    sql: `
CREATE TABLE idempotency_keys (
  key          TEXT PRIMARY KEY,
  fingerprint  TEXT NOT NULL,
  job_id       TEXT NOT NULL,
  created_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_by_job ON idempotency_keys (job_id);
`,
  },
  {
    version: 4,
    name: "recurring schedules",
    sql: `
CREATE TABLE schedules (
  name           TEXT PRIMARY KEY,
  cron           TEXT NOT NULL,
  timezone       TEXT NOT NULL,
  job            JSONB NOT NULL,
  paused         BOOLEAN NOT NULL DEFAULT FALSE,
  next_run_at    DOUBLE PRECISION NOT NULL,
  last_fired_at  DOUBLE PRECISION,
  last_job_id    TEXT,
  created_at     DOUBLE PRECISION NOT NULL
);
`,
  },
  {
    version: 5,
    name: "automatic retries: not-before time and attempts log of items",
    sql: `
ALTER TABLE items ADD COLUMN not_before DOUBLE PRECISION;
ALTER TABLE items ADD COLUMN attempts_log JSONB;
CREATE INDEX items_retrying ON items (job_id, not_before) WHERE status = 'queued' AND not_before IS NOT NULL;
`,
  },
  {
    version: 6,
    name: "result cache",
    sql: `
CREATE TABLE result_cache (
  key_hash    TEXT PRIMARY KEY,
  result      JSONB NOT NULL,
  job_id      TEXT NOT NULL,
  created_at  DOUBLE PRECISION NOT NULL,
  expires_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX result_cache_by_expiry ON result_cache (expires_at);
CREATE INDEX result_cache_by_job ON result_cache (job_id);
CREATE TABLE result_cache_counts (name TEXT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0);
INSERT INTO result_cache_counts (name, n) VALUES ('hits', 0), ('misses', 0);
`,
  },
  {
    version: 7,
    name: "priorities: when each job last held a worker slot (fair turns within a priority)",
    sql: `
ALTER TABLE jobs ADD COLUMN served_at DOUBLE PRECISION;
`,
  },
  {
    version: 8,
    name: "a leased-items counter on jobs, with room for HOT updates",
    // `leased` is the number of the job's items in status 'running'. The claim statement reads and moves it
    // under the job row's lock for the length of that one statement only, which is what lets `parallel` hold
    // across nodes without a transaction-long lock on the job. The job row is updated by every claim and every
    // batch of outcomes, on columns no index covers: free space in its page keeps those updates HOT (no new
    // index entries, pruned in place). Items are not given the same: their status is in the partial indexes
    // that the claims and the lease sweep need, so an item's update is never HOT.
    sql: `
ALTER TABLE jobs ADD COLUMN leased INTEGER NOT NULL DEFAULT 0;
UPDATE jobs j SET leased = r.n
  FROM (SELECT job_id, COUNT(*) AS n FROM items WHERE status = 'running' GROUP BY job_id) r
  WHERE j.id = r.job_id;
ALTER TABLE jobs SET (fillfactor = 70);
`,
  },
  {
    version: 9,
    name: "failed items by job (a page of failed-first items reads them in order, no sort of the job)",
    sql: `
CREATE INDEX items_failed ON items (job_id, seq) WHERE status = 'failed';
`,
  },
  {
    version: 10,
    name: "dependencies between the items of a job (waiting items, their edges)",
    // A waiting item is out of items_queued (claims never see it); an item's end counts its dependants' pending
    // dependencies down through item_deps_by_dep, only in jobs with item_deps set.
    sql: `
ALTER TABLE jobs ADD COLUMN item_deps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN deps_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN dep_failure TEXT;
ALTER TABLE items ADD COLUMN dep_run INTEGER NOT NULL DEFAULT 0;
CREATE TABLE item_deps (item BIGINT NOT NULL, dep BIGINT NOT NULL, PRIMARY KEY (item, dep));
CREATE INDEX item_deps_by_dep ON item_deps (dep, item);
CREATE INDEX items_waiting ON items (job_id, seq) WHERE status = 'waiting';
`,
  },
  {
    version: 11,
    name: "job dependencies: what each job waits on, by dependency",
    // jobs.depends_on (from version 1) keeps the list as submitted; job_deps one row per (job, dependency),
    // pending until the dependency ends. A job with a pending row is never started.
    sql: `
ALTER TABLE jobs ADD COLUMN on_dependency_failure TEXT;
CREATE TABLE job_deps (
  job_id   TEXT NOT NULL,
  dep_id   TEXT NOT NULL,
  pending  INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX job_deps_by_dep ON job_deps (dep_id) WHERE pending = 1;
`,
  },
  {
    version: 12,
    name: "workflows: a record per workflow (its spec and the job of each step)",
    sql: `
CREATE TABLE workflows (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  DOUBLE PRECISION NOT NULL,
  jobs        JSONB NOT NULL,
  spec        JSONB NOT NULL
);
CREATE INDEX workflows_by_created ON workflows (created_at DESC, id DESC);
`,
  },
  {
    version: 13,
    name: "which node last found a job's slots all taken, and when (slots handed over between nodes)",
    // PostgreSQL only (SQLite serves one process). Columns in no index: the job row's updates stay HOT.
    sql: `
ALTER TABLE jobs ADD COLUMN wanted_by TEXT, ADD COLUMN wanted_at DOUBLE PRECISION;
`,
  },
];
