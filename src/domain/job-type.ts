/** What a job type may be called: lowercase letters, digits and _, starting with a letter, 64 at most. */
export const JOB_TYPE_PATTERN = "^[a-z][a-z0-9_]{0,63}$";

/** What a request may name a job type by: a type, or one of its aliases (`agent-tasks`, `MCP`). */
export const JOB_TYPE_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,63}$";

const jobTypeRegex = new RegExp(JOB_TYPE_PATTERN);

export function isJobType(type: string): boolean {
  return jobTypeRegex.test(type);
}
