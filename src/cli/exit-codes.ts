/**
 * The CLI's exit codes, one table (the README's): 0 the job completed (or the command did its work), 1 the
 * job failed, 2 the job was cancelled, 3 the command could not do its work (a usage error, the server
 * unreachable, an error answer), 4 the job has not ended yet (`job <id>` of a queued or running job).
 */
export const EXIT = { completed: 0, failed: 1, cancelled: 2, error: 3, notEnded: 4 } as const;

/** The exit code a job's status stands for: `submit --wait`, `watch`, `retry --wait` and `job <id>` exit by it. */
export function exitForStatus(status: string): number {
  switch (status) {
    case "completed":
      return EXIT.completed;
    case "failed":
      return EXIT.failed;
    case "cancelled":
      return EXIT.cancelled;
    case "queued":
    case "running":
      return EXIT.notEnded;
    default:
      return EXIT.error;
  }
}
