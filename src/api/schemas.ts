import { type TLiteral, type TSchema, Type } from "typebox";
import { JOB_TYPE_PATTERN } from "../domain/job-type.js";
import type { JsonObject } from "../domain/json.js";
import { JOB_STATUSES } from "../domain/statuses.js";

/** Request and response shapes of the REST contract existing clients use (README: API overview); they feed validation, types and OpenAPI. */

export const CHUNK_SIZE_BOUNDS = { minimum: 1, maximum: 10_000 } as const;
export const PARALLEL_BOUNDS = { minimum: 1, maximum: 256 } as const;
export const MAX_ITEMS_PER_JOB = 1_000_000;

export const ChunkSize = (dflt: number) =>
  Type.Integer({ ...CHUNK_SIZE_BOUNDS, default: dflt, description: "Items claimed by a worker at a time." });
export const Parallel = (dflt: number) =>
  Type.Integer({ ...PARALLEL_BOUNDS, default: dflt, description: "Items of this job running at once." });
export const Items = (item: TSchema, description: string) =>
  Type.Array(item, { minItems: 1, maxItems: MAX_ITEMS_PER_JOB, description });

/** Where the job's final answer is POSTed when it ends (README: Webhooks). */
export const WebhookUrl = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 2048,
    description:
      "http(s) URL the final job answer (as GET /batch/jobs/{id}) is POSTed to when the job ends, signed with the server's --webhook-secret; delivery recorded in metadata.webhook.",
  }),
);

/** Any JSON object (typed as one for the handlers). */
export const JsonObjectSchema = (options: { default?: JsonObject } = {}) =>
  Type.Unsafe<JsonObject>(Type.Object({}, { additionalProperties: true, ...options }));

/** One literal per value, as a tuple (so a union of them keeps its static type). */
export const literals = <const T extends readonly string[]>(values: T) =>
  values.map((v) => Type.Literal(v)) as unknown as { -readonly [K in keyof T]: TLiteral<T[K]> };

export const GenericJobBody = Type.Object(
  {
    type: Type.String({ pattern: JOB_TYPE_PATTERN, description: "A registered job type." }),
    items: Type.Array(JsonObjectSchema(), {
      minItems: 1,
      maxItems: MAX_ITEMS_PER_JOB,
    }),
    options: JsonObjectSchema({ default: {} }),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
    webhook_url: WebhookUrl,
  },
  { title: "JobRequest", additionalProperties: false },
);

const Status = Type.Union(literals(JOB_STATUSES), { description: JOB_STATUSES.join(" | ") });
const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);
const FreeObject = Type.Object({}, { additionalProperties: true });

export const JobResponse = Type.Object(
  {
    job_id: Type.String(),
    status: Status,
    progress: Type.Number({ description: "0-100" }),
    result: Type.Union([FreeObject, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.Number({ description: "epoch seconds" }),
    started_at: Nullable(Type.Number()),
    completed_at: Nullable(Type.Number()),
    metadata: FreeObject,
  },
  { title: "JobResponse" },
);

/** The longest job id (or other path parameter) taken; the router answers 414 for longer ones. */
export const MAX_PARAM_LENGTH = 200;

export const JobIdParams = Type.Object({ job_id: Type.String({ maxLength: MAX_PARAM_LENGTH }) });

export const GetJobQuery = Type.Object({ include_results: Type.Boolean({ default: true }) });

/**
 * Every numeric query parameter is a safe integer within a bound (a 422 otherwise, never a database error):
 * a page holds at most MAX_PAGE_LIMIT rows and starts at most MAX_OFFSET rows in.
 */
export const MAX_PAGE_LIMIT = 1000;
export const MAX_OFFSET = 1_000_000_000;
export const PageLimit = (dflt: number) =>
  Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: dflt, description: "Rows in the page." });
export const PageOffset = Type.Integer({
  minimum: 0,
  maximum: MAX_OFFSET,
  default: 0,
  description: "Rows skipped before the page.",
});

export const ListJobsQuery = Type.Object({
  status: Type.Optional(Status),
  job_type: Type.Optional(Type.String({ maxLength: 64 })),
  limit: PageLimit(100),
  offset: PageOffset,
  include_results: Type.Boolean({ default: false }),
});

export const JobListResponse = Type.Object(
  { jobs: Type.Array(JobResponse), total: Type.Integer() },
  { title: "JobList" },
);

export const CancelResponse = Type.Object({ status: Type.Literal("cancelled"), job_id: Type.String() });

export const StatsResponse = Type.Object({
  stats: Type.Object({
    total: Type.Integer(),
    queued: Type.Integer(),
    running: Type.Integer(),
    completed: Type.Integer(),
    failed: Type.Integer(),
    cancelled: Type.Integer(),
  }),
});

export const ErrorResponse = Type.Object(
  {
    detail: Type.Union([
      Type.String(),
      Type.Array(
        Type.Object({
          loc: Type.Array(Type.Union([Type.String(), Type.Integer()])),
          msg: Type.String(),
          type: Type.String(),
        }),
      ),
    ]),
  },
  { title: "Error" },
);

/** GET /ready: whether this server can take work now, and what it depends on. */
export const ReadyResponse = Type.Object(
  {
    status: Type.Union(literals(["ready", "degraded", "starting", "unavailable"] as const), {
      description:
        "ready: the store takes writes and a model host answers (or none is configured); degraded: the store takes writes but no model host answers (agent jobs wait or fail when they start; 200); starting, unavailable: 503",
    }),
    store: Type.Object({
      status: Type.Union(literals(["usable", "unavailable"] as const)),
      detail: Type.Optional(Type.String()),
    }),
    ollama: Type.Array(
      Type.Object({
        url: Type.String(),
        reachable: Type.Boolean(),
        models: Type.Array(Type.String()),
        latency_ms: Type.Number(),
        error: Type.Optional(Type.String()),
      }),
    ),
    detail: Type.Optional(Type.String()),
  },
  { title: "Readiness" },
);
