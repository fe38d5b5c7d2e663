import { type Static, Type } from "typebox";
import {
  DEFAULT_DEPENDENCY_FAILURE_POLICY,
  DEPENDENCY_FAILURE_POLICIES,
  type DependencyFailurePolicy,
  MAX_DEPENDENCIES,
} from "../domain/dependencies.js";
import type { JsonObject } from "../domain/json.js";
import { DEFAULT_PRIORITY, PRIORITY_BOUNDS } from "../domain/priority.js";
import {
  BACKOFFS,
  DEFAULT_RETRY_POLICY as D,
  JITTERS,
  RETRY_LIMITS,
  RETRY_ON,
  type RetryPolicy,
} from "../domain/retry-policy.js";
import { InvalidInputError } from "../errors.js";
import { IdempotencyKeyField } from "./idempotency-key.js";
import { literals } from "./literals.js";

/** Latest `run_at` accepted: a year ahead (a later date is more likely a mistake, e.g. milliseconds). */
const MAX_AHEAD_SECONDS = 366 * 86_400;

/** Where the job's final answer is POSTed when it ends (README: Webhooks). */
export const WebhookUrl = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 2048,
    description:
      "http(s) URL the final job answer (as GET /batch/jobs/{id}) is POSTed to when the job ends, signed with the server's --webhook-secret; delivery recorded in metadata.webhook.",
  }),
);

/** A job's automatic retries of its items (src/domain/retry-policy.ts keeps the defaults and the rules). */
export const RetryField = Type.Object(
  {
    max_attempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: RETRY_LIMITS.maxAttempts,
        description: `Tries of each item in all, the first included; 1 never retries. Default ${D.max_attempts}.`,
      }),
    ),
    backoff: Type.Optional(
      Type.Union(literals(BACKOFFS), {
        description: `The wait before try n+1: exponential = delay_seconds * 2^(n-1), fixed = delay_seconds. Default ${D.backoff}.`,
      }),
    ),
    delay_seconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: RETRY_LIMITS.maxDelaySeconds,
        description: `The first wait (seconds). Default ${D.delay_seconds}.`,
      }),
    ),
    max_delay_seconds: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: RETRY_LIMITS.maxDelaySeconds,
        description: `The longest wait (seconds), whatever the backoff says. Default ${D.max_delay_seconds}.`,
      }),
    ),
    jitter: Type.Optional(
      Type.Union(literals(JITTERS), {
        description: `none: the wait d as computed; full: a random wait in [0, d]; equal: d/2 plus a random part of d/2. Default ${D.jitter}.`,
      }),
    ),
    on: Type.Optional(
      Type.Array(Type.Union(literals(RETRY_ON)), {
        minItems: 1,
        uniqueItems: true,
        contains: { const: "error" },
        description:
          'Which failures are tried again: ["error"] (the item could not be carried out: model server unreachable or busy, a crashed or timed-out command, a lost worker) or ["error", "failed"] (also items that ran and failed: a check, a test, a reviewer). Invalid input, security refusals and missing files or models are never retried. Default ["error"].',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "Automatic retries: a failed item goes back to the queue after its backoff (it holds no job slot meanwhile), the job's progress counts it in `retrying`, and its earlier tries are kept in its attempts_log. Stored in metadata.retry. Without it: 3 tries for `error`, none for `failed`.",
    examples: [
      {
        max_attempts: 5,
        backoff: "exponential",
        delay_seconds: 2,
        max_delay_seconds: 60,
        jitter: "full",
        on: ["error", "failed"],
      },
    ],
  },
);

/** A submit's `retry` as the queue takes it (its defaults filled in there). */
export function retryOf(body: {
  retry?: Static<typeof RetryField> | undefined;
}): Partial<RetryPolicy> | undefined {
  return body.retry;
}

/** `depends_on`: the jobs a new job waits on (README: Job dependencies). */
export const DependsOnField = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
  maxItems: MAX_DEPENDENCIES,
  uniqueItems: true,
  description:
    "Job ids this job waits on: it stays queued (metadata.waiting_for, `waiting_for`) until they all ended. A completed one releases it; a failed or cancelled one cancels it with error `dependency <id> failed` unless on_dependency_failure is run. Unknown ids (never submitted, or purged) are a 422 and nothing is queued.",
  examples: [["agent-0123456789ab"]],
});

/** `on_dependency_failure`: what a failed or cancelled dependency does to the job. */
export const OnDependencyFailureField = Type.Union(literals(DEPENDENCY_FAILURE_POLICIES), {
  description: `What a dependency that did not succeed does. To the job, a job in depends_on that failed or was cancelled — skip: the job is cancelled (error "dependency <id> failed" or "... was cancelled"); run: it runs anyway once all its dependencies ended. To its items (unless an item says its own), an item in their depends_on that did not succeed — skip: the item ends skipped; run: it runs anyway. Default ${DEFAULT_DEPENDENCY_FAILURE_POLICY}.`,
});

/** A submit's dependencies as the queue takes them. */
export function dependenciesOf(body: { depends_on?: unknown; on_dependency_failure?: unknown }): {
  dependsOn?: string[];
  onDependencyFailure?: DependencyFailurePolicy;
} {
  return {
    ...(Array.isArray(body.depends_on) ? { dependsOn: body.depends_on.map(String) } : {}),
    ...(body.on_dependency_failure === "run" || body.on_dependency_failure === "skip"
      ? { onDependencyFailure: body.on_dependency_failure }
      : {}),
  };
}

/** A job's priority: higher runs first (the PATCH body takes the same field). */
export const Priority = Type.Integer({
  ...PRIORITY_BOUNDS,
  description:
    "Higher runs first (-100…100). A job of higher priority takes a worker slot from a lower one within one item's time (its running items finish; nothing is lost or run twice); jobs of the same priority take fair turns.",
  examples: [10],
});

/**
 * The fields every submit route takes besides its items, options, chunk_size and parallel: one list, so that
 * the kinds' routes and `POST /batch/jobs` cannot drift apart.
 */
export const COMMON_SUBMIT_FIELDS = {
  idempotency_key: IdempotencyKeyField,
  webhook_url: WebhookUrl,
  retry: Type.Optional(RetryField),
  depends_on: Type.Optional(DependsOnField),
  on_dependency_failure: Type.Optional(OnDependencyFailureField),

  priority: Type.Optional({ ...Priority, default: DEFAULT_PRIORITY }),
  run_at: Type.Optional(
    Type.Union([Type.Number({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })], {
      description:
        "Run no earlier than this: epoch seconds, or an ISO 8601 date-time with its offset (2026-12-01T02:00:00Z). The job stays queued, with metadata.run_at, until then. Not with delay_seconds.",
      examples: ["2026-12-01T02:00:00Z"],
    }),
  ),
  delay_seconds: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: MAX_AHEAD_SECONDS,
      description: "Run no earlier than this many seconds from now. Not with run_at.",
      examples: [3600],
    }),
  ),
};

const issue = (field: string, msg: string) =>
  new InvalidInputError([{ loc: ["body", field], msg, type: `value_error.${field}` }]);

/** When the job may start (epoch seconds), from `run_at` or `delay_seconds`; null: at once. */
export function runAtOf(body: JsonObject, nowSeconds: number): number | null {
  const { run_at: at, delay_seconds: delay } = body;
  if (at !== undefined && delay !== undefined)
    throw issue("run_at", "give run_at or delay_seconds, not both");
  if (typeof delay === "number") return delay > 0 ? nowSeconds + delay : null;
  if (at === undefined) return null;
  let seconds: number;
  if (typeof at === "number") seconds = at;
  else {
    // A date-time with its offset: a bare date or a local time would depend on the server's time zone.
    if (
      typeof at !== "string" ||
      !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(at)
    )
      throw issue(
        "run_at",
        "run_at must be epoch seconds or an ISO 8601 date-time with an offset, e.g. 2026-12-01T02:00:00Z",
      );
    seconds = Date.parse(at) / 1000;
    if (!Number.isFinite(seconds) || !realDate(at))
      throw issue("run_at", `run_at is not a real date-time: ${at}`);
  }
  if (seconds > nowSeconds + MAX_AHEAD_SECONDS)
    throw issue("run_at", "run_at is more than a year ahead (epoch seconds, not milliseconds?)");
  return seconds > nowSeconds ? seconds : null;
}

/** Whether the calendar date and the clock time of an ISO date-time exist (Date.parse rolls Feb 30 over). */
function realDate(iso: string): boolean {
  const [y, m, d, hh, mm, ss] = [
    iso.slice(0, 4),
    iso.slice(5, 7),
    iso.slice(8, 10),
    iso.slice(11, 13),
    iso.slice(14, 16),
    iso.slice(17, 19),
  ].map(Number) as number[];
  const day = new Date(Date.UTC(y as number, (m as number) - 1, d));
  return (
    day.getUTCFullYear() === y &&
    day.getUTCMonth() === (m as number) - 1 &&
    day.getUTCDate() === d &&
    (hh as number) < 24 &&
    (mm as number) < 60 &&
    (Number.isNaN(ss) || (ss as number) < 60)
  );
}
