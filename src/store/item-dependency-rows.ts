import { DEPENDENCY_FAILURE_SUFFIX } from "../domain/item-dependencies.js";
import type { NewJob } from "../domain/records.js";
import { UNENDED_STORED_STATUSES, WAITING_ITEM_STATUS } from "../domain/statuses.js";

/** SQL lists (both engines): the stored statuses of items that have not started, and of those not ended. */
export const NOT_STARTED = `('queued', '${WAITING_ITEM_STATUS}')`;
export const UNENDED = `(${UNENDED_STORED_STATUSES.map((x) => `'${x}'`).join(", ")})`;

/** Whether a new job's items depend on one another (or on a retried job's items that did not succeed). */
export function hasItemDependencies(job: NewJob): boolean {
  return job.items.some((i) => (i.dependsOn?.length ?? 0) > 0 || (i.depFailure ?? null) !== null);
}

/** SQL (both engines): the error of an item whose dependency (id `depId`, ended `status`) did not succeed. */
export function dependencyFailureSql(depId: string, status: string): string {
  const cases = Object.entries(DEPENDENCY_FAILURE_SUFFIX)
    .map(([s, suffix]) => `WHEN '${s}' THEN '${suffix}'`)
    .join(" ");
  return `'dependency ' || ${depId} || (CASE ${status} ${cases} END)`;
}

/**
 * PostgreSQL: CTEs that count the dependants of the items in CTE `ended` (id, status, item_id) off, in the
 * statement that ended them: each dependant loses one pending dependency per ended one, takes the failure of
 * one that did not succeed (unless it runs anyway, or has one already), and is queued at none left. Only in a
 * job with item dependencies (`$job`): other jobs' outcomes skip the join.
 */
export function releaseDependantsCtes(ended: string, job: string): string {
  return `rel AS (
  SELECT e.item, COUNT(*)::int AS n,
    MIN(CASE WHEN d.status <> 'succeeded' THEN ${dependencyFailureSql("d.item_id", "d.status")} END) AS failure
  FROM ${ended} d JOIN item_deps e ON e.dep = d.id
  WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ${job} AND item_deps = 1)
  GROUP BY e.item
), released AS (
  UPDATE items i SET deps_pending = i.deps_pending - rel.n,
    dep_failure = CASE WHEN i.dep_run = 0 AND i.dep_failure IS NULL THEN rel.failure ELSE i.dep_failure END,
    status = CASE WHEN i.deps_pending = rel.n THEN 'queued' ELSE i.status END
  FROM rel WHERE i.id = rel.item AND i.status = '${WAITING_ITEM_STATUS}'
)`;
}
