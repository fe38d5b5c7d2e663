import type pg from "pg";
import { dependencyError, UnknownDependencyError } from "../../domain/dependencies.js";
import { FINAL_JOB_STATUSES, type JobStatus } from "../../domain/statuses.js";
import type { NewJob } from "../job-store.js";

const FINAL = FINAL_JOB_STATUSES.map((x) => `'${x}'`).join(", ");

/**
 * Job dependencies on PostgreSQL (see JobStore: createJob, dependentsOf, releaseEndedDependencies): every
 * call runs on the caller's transaction, so a dependency's end and the release of the jobs waiting on it
 * commit together.
 */
export const pgDependencies = {
  /**
   * After the job row of `job` is in (its transaction): records what it waits on. The dependencies' rows are
   * read FOR SHARE: a dependency ending concurrently (its end locks its row) either commits first, and is read
   * ended here, or waits for this transaction, and then finds the new job among those waiting on it.
   */
  async record(c: pg.PoolClient, job: NewJob, now: number): Promise<void> {
    const deps = [...new Set(job.dependsOn ?? [])];
    if (deps.length === 0) return;
    const found = await c.query(
      "SELECT id, status FROM jobs WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE",
      [deps],
    );
    const status = new Map(found.rows.map((r) => [r.id as string, r.status as JobStatus]));
    const unknown = deps.filter((id) => !status.has(id));
    if (unknown.length > 0) throw new UnknownDependencyError(unknown);
    await c.query("UPDATE jobs SET depends_on = $2 WHERE id = $1", [job.id, JSON.stringify(deps)]);
    await c.query(
      `INSERT INTO job_deps (job_id, dep_id, pending)
        SELECT $1, d, p FROM unnest($2::text[], $3::int[]) AS t(d, p) ON CONFLICT DO NOTHING`,
      [job.id, deps, deps.map((d) => (FINAL_JOB_STATUSES.includes(status.get(d)!) ? 0 : 1))],
    );
    if (job.onDependencyFailure === "run") return;
    const failed = deps.find((d) => status.get(d) === "failed" || status.get(d) === "cancelled");
    if (failed !== undefined)
      await pgDependencies.ended(
        c,
        job.id,
        "cancelled",
        now,
        false,
        dependencyError(failed, status.get(failed)!),
      );
  },

  /**
   * A job ended with `status` (its row already says so, or `cancelWith` ends it here): it waits on nothing
   * more, and the jobs waiting on it are released; when it failed or was cancelled, those whose rule is skip
   * (all of them when `cascade`) are cancelled, and so on down the chain.
   */
  async ended(
    c: pg.PoolClient,
    id: string,
    status: JobStatus,
    now: number,
    cascade: boolean,
    cancelWith?: string,
  ): Promise<void> {
    if (cancelWith !== undefined) await cancel(c, id, cancelWith, now);
    const todo: [string, JobStatus][] = [[id, status]];
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      const [ended, how] = next;
      await c.query("UPDATE job_deps SET pending = 0 WHERE job_id = $1 AND pending = 1", [ended]);
      const waiting = await c.query(
        "UPDATE job_deps SET pending = 0 WHERE dep_id = $1 AND pending = 1 RETURNING job_id",
        [ended],
      );
      if (how === "completed") continue;
      const ids = waiting.rows.map((r) => r.job_id as string).sort();
      const queued = await c.query(
        "SELECT id, on_dependency_failure FROM jobs WHERE id = ANY($1::text[]) AND status = 'queued' ORDER BY id FOR UPDATE",
        [ids],
      );
      for (const r of queued.rows) {
        if (r.on_dependency_failure === "run" && !cascade) continue;
        if (await cancel(c, r.id as string, dependencyError(ended, how), now)) todo.push([r.id, "cancelled"]);
      }
    }
  },

  async dependentsOf(db: pg.Pool, id: string): Promise<string[]> {
    const r = await db.query("SELECT job_id FROM job_deps WHERE dep_id = $1 ORDER BY job_id", [id]);
    return r.rows.map((x) => x.job_id as string);
  },

  /** The safety sweep: applies `ended` for dependencies that ended (or are gone) with jobs still waiting. */
  async releaseEnded(c: pg.PoolClient, now: number, limit: number): Promise<string[]> {
    const r = await c.query(
      `SELECT DISTINCT d.dep_id, j.status FROM job_deps d LEFT JOIN jobs j ON j.id = d.dep_id
        WHERE d.pending = 1 AND (j.id IS NULL OR j.status IN (${FINAL})) LIMIT $1`,
      [limit],
    );
    for (const row of r.rows)
      await pgDependencies.ended(c, row.dep_id, (row.status as JobStatus | null) ?? "completed", now, false);
    return r.rows.map((row) => row.dep_id as string);
  },
};

async function cancel(c: pg.PoolClient, id: string, error: string, now: number): Promise<boolean> {
  const r = await c.query(
    `UPDATE jobs SET status = 'cancelled', error = $2, completed_at = $3, updated_at = $3
      WHERE id = $1 AND status = 'queued'`,
    [id, error, now],
  );
  if ((r.rowCount ?? 0) === 0) return false;
  const items = await c.query(
    "UPDATE items SET status = 'cancelled', finished_at = $2 WHERE job_id = $1 AND status = 'queued'",
    [id, now],
  );
  if ((items.rowCount ?? 0) > 0)
    await c.query("UPDATE jobs SET cancelled = cancelled + $2 WHERE id = $1", [id, items.rowCount]);
  return true;
}
