import { Type } from "typebox";
import type { JsonObject } from "../domain/json.js";
import { DEFAULT_PRIORITY, PRIORITY_BOUNDS } from "../domain/priority.js";
import { InvalidInputError } from "../errors.js";
import { IdempotencyKeyField } from "./idempotency-key.js";

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
