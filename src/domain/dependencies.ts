import type { JobStatus } from "./statuses.js";

/**
 * Job dependencies: a job may wait on other jobs (`depends_on`). It stays queued until they all ended; a
 * failed or cancelled one cancels it (`skip`, the default) or not (`run`: it runs once they all ended).
 */
export const DEPENDENCY_FAILURE_POLICIES = ["skip", "run"] as const;
export type DependencyFailurePolicy = (typeof DEPENDENCY_FAILURE_POLICIES)[number];
export const DEFAULT_DEPENDENCY_FAILURE_POLICY: DependencyFailurePolicy = "skip";

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
