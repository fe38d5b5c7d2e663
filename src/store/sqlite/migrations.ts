/** Versioned schema for the SQLite backend. Append new versions; never edit an applied one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "jobs and items",
    sql: `
CREATE TABLE jobs (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  status        TEXT NOT NULL,
  options       TEXT NOT NULL DEFAULT '{}',
  metadata      TEXT NOT NULL DEFAULT '{}',
  error         TEXT,
  chunk_size    INTEGER NOT NULL,
  parallel      INTEGER NOT NULL,
  priority      INTEGER NOT NULL DEFAULT 0,
  run_at        REAL,
  max_attempts  INTEGER NOT NULL DEFAULT 3,
  depends_on    TEXT,
  total         INTEGER NOT NULL,
  succeeded     INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  skipped       INTEGER NOT NULL DEFAULT 0,
  cancelled     INTEGER NOT NULL DEFAULT 0,
  current_item  TEXT,
  created_at    REAL NOT NULL,
  started_at    REAL,
  completed_at  REAL,
  updated_at    REAL NOT NULL
);
CREATE INDEX jobs_by_created ON jobs (created_at);
CREATE INDEX jobs_by_status ON jobs (status, created_at);
CREATE INDEX jobs_by_type ON jobs (type, created_at);

CREATE TABLE items (
  id                INTEGER PRIMARY KEY,
  job_id            TEXT NOT NULL,
  seq               INTEGER NOT NULL,
  item_id           TEXT NOT NULL,
  payload           TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'queued',
  attempts          INTEGER NOT NULL DEFAULT 0,
  lease_owner       TEXT,
  lease_expires_at  REAL,
  result            TEXT,
  error             TEXT,
  worker_id         TEXT,
  started_at        REAL,
  finished_at       REAL
);
CREATE UNIQUE INDEX items_by_job ON items (job_id, seq);
CREATE INDEX items_queued ON items (job_id, seq) WHERE status = 'queued';
CREATE INDEX items_leased ON items (lease_owner, lease_expires_at) WHERE status = 'running';
`,
  },
  {
    version: 2,
    name: "retention: purged jobs, ended jobs by age",
    sql: `
CREATE TABLE purged_jobs (job_id TEXT PRIMARY KEY, purged_at REAL NOT NULL);
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
  created_at   REAL NOT NULL
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
  job            TEXT NOT NULL,
  paused         INTEGER NOT NULL DEFAULT 0,
  next_run_at    REAL NOT NULL,
  last_fired_at  REAL,
  last_job_id    TEXT,
  created_at     REAL NOT NULL
);
`,
  },
  {
    version: 5,
    name: "automatic retries: not-before time and attempts log of items",
    // The claim's look for due items stays in the queued items' index (it carries not_before).
    sql: `
ALTER TABLE items ADD COLUMN not_before REAL;
ALTER TABLE items ADD COLUMN attempts_log TEXT;
CREATE INDEX items_retrying ON items (job_id, not_before) WHERE status = 'queued' AND not_before IS NOT NULL;
DROP INDEX items_queued;
CREATE INDEX items_queued ON items (job_id, seq, not_before) WHERE status = 'queued';
`,
  },
  {
    version: 6,
    name: "result cache",
    sql: `
CREATE TABLE result_cache (
  key_hash    TEXT PRIMARY KEY,
  result      TEXT NOT NULL,
  job_id      TEXT NOT NULL,
  created_at  REAL NOT NULL,
  expires_at  REAL NOT NULL
);
CREATE INDEX result_cache_by_expiry ON result_cache (expires_at);
CREATE INDEX result_cache_by_job ON result_cache (job_id);
CREATE TABLE result_cache_counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
INSERT INTO result_cache_counts (name, n) VALUES ('hits', 0), ('misses', 0);
`,
  },
  {
    version: 7,
    name: "priorities: when each job last held a worker slot (fair turns within a priority)",
    sql: `
ALTER TABLE jobs ADD COLUMN served_at REAL;
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
CREATE TABLE item_deps (item INTEGER NOT NULL, dep INTEGER NOT NULL, PRIMARY KEY (item, dep)) WITHOUT ROWID;
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
  created_at  REAL NOT NULL,
  jobs        TEXT NOT NULL,
  spec        TEXT NOT NULL
);
CREATE INDEX workflows_by_created ON workflows (created_at DESC, id DESC);
`,
  },
];
