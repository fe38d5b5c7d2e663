import type Database from "better-sqlite3";
import { dependencyError, UnknownDependencyError } from "../../domain/dependencies.js";
import { FINAL_JOB_STATUSES, type JobStatus } from "../../domain/statuses.js";
import type { NewJob } from "../job-store.js";

/**
 * Job dependencies on SQLite (see JobStore: createJob, dependentsOf, releaseEndedDependencies): every call
 * runs inside the caller's transaction, so a dependency's end and the release of the jobs waiting on it are
 * one write.
 */
export class SqliteDependencies {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      status: db.prepare("SELECT status FROM jobs WHERE id = ?").pluck(),
      insert: db.prepare("INSERT OR IGNORE INTO job_deps (job_id, dep_id, pending) VALUES (?, ?, ?)"),
      setDeps: db.prepare("UPDATE jobs SET depends_on = ? WHERE id = ?"),
      stopWaiting: db.prepare("UPDATE job_deps SET pending = 0 WHERE job_id = ? AND pending = 1"),
      release: db
        .prepare("UPDATE job_deps SET pending = 0 WHERE dep_id = ? AND pending = 1 RETURNING job_id")
        .pluck(),
      policy: db.prepare("SELECT on_dependency_failure FROM jobs WHERE id = ? AND status = 'queued'").pluck(),
      cancel: db.prepare(`UPDATE jobs SET status = 'cancelled', error = ?, completed_at = ?, updated_at = ?
        WHERE id = ? AND status = 'queued'`),
      cancelItems: db.prepare(
        "UPDATE items SET status = 'cancelled', finished_at = ? WHERE job_id = ? AND status = 'queued'",
      ),
      addCancelled: db.prepare("UPDATE jobs SET cancelled = cancelled + ? WHERE id = ?"),
      dependents: db.prepare("SELECT job_id FROM job_deps WHERE dep_id = ? ORDER BY job_id").pluck(),
      endedPending: db
        .prepare(`SELECT DISTINCT d.dep_id, j.status FROM job_deps d LEFT JOIN jobs j ON j.id = d.dep_id
        WHERE d.pending = 1 AND (j.id IS NULL OR j.status IN (${FINAL_JOB_STATUSES.map((x) => `'${x}'`).join(", ")}))
        LIMIT ?`)
        .raw(),
    };
  }

  /**
   * After the job row of `job` is in (its transaction): records what it waits on. A dependency that never
   * existed (or was purged) throws UnknownDependencyError (the caller's transaction rolls back); one already
   * failed or cancelled applies the job's rule at once.
   */
  record(job: NewJob, now: number): void {
    const deps = [...new Set(job.dependsOn ?? [])];
    if (deps.length === 0) return;
    const statuses = this.statuses(deps);
    this.s.setDeps.run(JSON.stringify(deps), job.id);
    deps.forEach((dep, i) => {
      this.s.insert.run(job.id, dep, FINAL_JOB_STATUSES.includes(statuses[i]!) ? 0 : 1);
    });
    if (job.onDependencyFailure === "run") return;
    const failed = deps.findIndex((_, i) => statuses[i] === "failed" || statuses[i] === "cancelled");
    if (failed >= 0)
      this.ended(job.id, "cancelled", now, false, dependencyError(deps[failed]!, statuses[failed]!));
  }

  /**
   * The dependencies' statuses; throws UnknownDependencyError for those that do not exist. (A large job, stored
   * in pieces, asks before its first piece too, so that a submit refused leaves no items behind.)
   */
  statuses(deps: readonly string[]): JobStatus[] {
    const statuses = deps.map((id) => this.s.status.get(id) as JobStatus | undefined);
    const unknown = deps.filter((_, i) => statuses[i] === undefined);
    if (unknown.length > 0) throw new UnknownDependencyError(unknown);
    return statuses as JobStatus[];
  }

  /**
   * A job ended with `status` (its row already says so, or `cancelWith` ends it here): it waits on nothing
   * more, and the jobs waiting on it are released; when it failed or was cancelled, those whose rule is skip
   * (all of them when `cascade`) are cancelled, and so on down the chain.
   */
  ended(id: string, status: JobStatus, now: number, cascade: boolean, cancelWith?: string): void {
    if (cancelWith !== undefined) this.cancel(id, cancelWith, now);
    const todo: [string, JobStatus][] = [[id, status]];
    for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
      const [ended, how] = next;
      this.s.stopWaiting.run(ended);
      const waiting = this.s.release.all(ended) as string[];
      if (how === "completed") continue;
      for (const dependent of waiting) {
        const policy = this.s.policy.get(dependent) as string | null | undefined;
        if (policy === undefined || (policy === "run" && !cascade)) continue;
        if (this.cancel(dependent, dependencyError(ended, how), now)) todo.push([dependent, "cancelled"]);
      }
    }
  }

  private cancel(id: string, error: string, now: number): boolean {
    if (this.s.cancel.run(error, now, now, id).changes === 0) return false;
    const n = this.s.cancelItems.run(now, id).changes;
    if (n > 0) this.s.addCancelled.run(n, id);
    return true;
  }

  dependentsOf(id: string): string[] {
    return this.s.dependents.all(id) as string[];
  }

  /** The safety sweep: applies `ended` for dependencies that ended (or are gone) with jobs still waiting. */
  releaseEnded(now: number, limit: number): string[] {
    const rows = this.s.endedPending.all(limit) as [string, JobStatus | null][];
    for (const [dep, status] of rows) this.ended(dep, status ?? "completed", now, false);
    return rows.map(([dep]) => dep);
  }
}
