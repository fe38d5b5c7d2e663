import { type Static, Type } from "typebox";
import type { ScheduleRecord } from "../store/job-store.js";
import { GenericJobBody } from "./schemas.js";

/** What a schedule may be called (its path segment): letters, digits, _ and -, as job ids are made of. */
export const SCHEDULE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";

const ScheduleName = Type.String({
  pattern: SCHEDULE_NAME_PATTERN,
  description: "The schedule's name: letters, digits, _ and -, 64 at most.",
  examples: ["nightly-tests"],
});

/** The fields of a submit that mean nothing for a job made again at each tick. */
const PER_REQUEST_FIELDS = ["run_at", "delay_seconds", "idempotency_key"];

/** The job each firing submits: `POST /batch/jobs`'s body without its per-request fields. */
export const ScheduleJobBody = Type.Object(
  Object.fromEntries(
    Object.entries(GenericJobBody.properties).filter(([k]) => !PER_REQUEST_FIELDS.includes(k)),
  ) as Omit<typeof GenericJobBody.properties, "run_at" | "delay_seconds" | "idempotency_key">,
  {
    title: "ScheduleJobRequest",
    additionalProperties: false,
    description: "A POST /batch/jobs body (type, items, options, chunk_size, parallel, webhook_url).",
  },
);

export const CreateScheduleBody = Type.Object(
  {
    name: ScheduleName,
    cron: Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        "Five cron fields (minute hour day-of-month month day-of-week) or an alias such as @daily, read in `timezone`.",
      examples: ["0 2 * * *"],
    }),
    timezone: Type.String({
      minLength: 1,
      maxLength: 64,
      default: "UTC",
      description: "IANA time zone the cron fields are read in.",
      examples: ["Europe/Paris"],
    }),
    job: ScheduleJobBody,
  },
  { title: "ScheduleRequest", additionalProperties: false },
);
export type CreateScheduleBody = Static<typeof CreateScheduleBody>;

export const ScheduleNameParams = Type.Object({ name: Type.String({ maxLength: 200 }) });

const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(t: T) =>
  Type.Union([t, Type.Null()]);

export const ScheduleResponse = Type.Object(
  {
    name: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    paused: Type.Boolean(),
    next_run_at: Type.Number({
      description: "Epoch seconds of the next tick (while paused: the one it would have been).",
    }),
    last_fired_at: Nullable(Type.Number({ description: "The tick (epoch seconds) of the last firing." })),
    last_job_id: Nullable(Type.String({ description: "The job the last firing made." })),
    created_at: Type.Number(),
    job: Type.Object({}, { additionalProperties: true, description: "The job each firing submits." }),
  },
  { title: "Schedule" },
);

export const ScheduleListResponse = Type.Object(
  { schedules: Type.Array(ScheduleResponse) },
  { title: "ScheduleList" },
);

export const DeleteScheduleResponse = Type.Object(
  { status: Type.Literal("deleted"), name: Type.String() },
  { title: "ScheduleDeleted" },
);

/** A schedule as the API answers it. */
export function scheduleAnswer(s: ScheduleRecord): Static<typeof ScheduleResponse> {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    paused: s.paused,
    next_run_at: s.nextRunAt,
    last_fired_at: s.lastFiredAt,
    last_job_id: s.lastJobId,
    created_at: s.createdAt,
    job: s.job,
  };
}
