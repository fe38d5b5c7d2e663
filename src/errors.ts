/** Error classes with stable string codes; wire mappings (HTTP, MCP) live in one place each. */
export type ErrorCode =
  | "not_found"
  | "conflict"
  | "idempotency_conflict"
  | "already_exists"
  | "job_state"
  | "invalid_input"
  | "job_setup_failed"
  | "security_block"
  | "config"
  | "workspace";

export class CoderError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CoderError";
    this.code = code;
  }
}

export class NotFoundError extends CoderError {
  constructor(message: string) {
    super("not_found", message);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends CoderError {
  constructor(message: string) {
    super("conflict", message);
    this.name = "ConflictError";
  }
}

/** What was asked of a job does not fit the state it is in (a retry of a running job, nothing to retry). */
export class JobStateError extends CoderError {
  constructor(message: string) {
    super("job_state", message);
    this.name = "JobStateError";
  }
}

/** Something of that name exists already (a schedule), so it cannot be created (HTTP 409). */
export class AlreadyExistsError extends CoderError {
  constructor(message: string) {
    super("already_exists", message);
    this.name = "AlreadyExistsError";
  }
}

/** One field problem, in FastAPI's validation-error shape. */
export interface FieldIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** An idempotency key reused for a different request within its lifetime (HTTP 409). */
export class IdempotencyConflictError extends CoderError {
  constructor(message: string) {
    super("idempotency_conflict", message);
    this.name = "IdempotencyConflictError";
  }
}

export class InvalidInputError extends CoderError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super("invalid_input", issues.map((i) => `${i.loc.join(".")}: ${i.msg}`).join("; "));
    this.name = "InvalidInputError";
    this.issues = issues;
  }
}

export class ConfigError extends CoderError {
  constructor(message: string) {
    super("config", message);
    this.name = "ConfigError";
  }
}

/** The one helper every `catch (e: unknown)` goes through. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === "AbortError" || (e as { code?: string }).code === "ABORT_ERR");
}

/** A refusal by the sandbox or the guardrail; its message always starts with "SECURITY BLOCK: ". */
export class SecurityBlockError extends CoderError {
  constructor(reason: string) {
    super("security_block", `SECURITY BLOCK: ${reason}`);
    this.name = "SecurityBlockError";
  }
}
