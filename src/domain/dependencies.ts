import type { JobStatus } from "./statuses.js";

/**
 * Dependencies, of a job on other jobs and of an item on other items of its job (src/domain/item-dependencies.ts):
 * the words both share. A job stays queued until the jobs it depends on all ended; a failed or cancelled one
 * cancels it (`skip`, the default) or not (`run`: it runs once they all ended). An item likewise waits, and is
 * skipped or runs anyway. A job's policy is also its items' unless an item says its own.
 */
export const DEPENDENCY_FAILURE_POLICIES = ["skip", "run"] as const;
export type DependencyFailurePolicy = (typeof DEPENDENCY_FAILURE_POLICIES)[number];
export const DEFAULT_DEPENDENCY_FAILURE_POLICY: DependencyFailurePolicy = "skip";

/** A stored `on_dependency_failure` value as a policy (undefined when absent or not one). */
export function dependencyPolicyOf(value: unknown): DependencyFailurePolicy | undefined {
  return (DEPENDENCY_FAILURE_POLICIES as readonly unknown[]).includes(value)
    ? (value as DependencyFailurePolicy)
    : undefined;
}

/** What is wrong with an `on_dependency_failure` value (an item's or a job's); null when it is fine. */
export function dependencyPolicyProblem(value: unknown): string | null {
  if (value === undefined || (DEPENDENCY_FAILURE_POLICIES as readonly unknown[]).includes(value)) return null;
  return `on_dependency_failure must be one of: ${DEPENDENCY_FAILURE_POLICIES.join(", ")}`;
}

/** The fields (of a job, and of an item within one) that name dependencies and say the policy. */
export const DEPENDS_ON_FIELD = "depends_on";
export const ON_DEPENDENCY_FAILURE_FIELD = "on_dependency_failure";

/** The most jobs one job may depend on. */
export const MAX_DEPENDENCIES = 100;

/** The error of a job cancelled because its dependency `depId` ended `status` (failed or cancelled). */
export function dependencyError(depId: string, status: JobStatus): string {
  return status === "cancelled" ? `dependency ${depId} was cancelled` : `dependency ${depId} failed`;
}

/** Whether a job's error says it was cancelled because of the dependency `depId`. */
export function cancelledByDependency(error: string | null, depId: string): boolean {
  return error === dependencyError(depId, "cancelled") || error === dependencyError(depId, "failed");
}

/** A new job names jobs that do not exist (never did, or purged): nothing was stored. */
export class UnknownDependencyError extends Error {
  constructor(readonly ids: readonly string[]) {
    super(`Unknown job(s) in depends_on: ${ids.join(", ")}`);
    this.name = "UnknownDependencyError";
  }
}
