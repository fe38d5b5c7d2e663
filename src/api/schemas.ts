import { type Static, type TSchema, Type } from "typebox";
import { FAILURE_REASON_NAMES } from "../domain/failure.js";
import { JOB_TYPE_NAME_PATTERN } from "../domain/job-type.js";
import type { JsonObject } from "../domain/json.js";
import { UsageByModelSchema } from "../domain/model-usage.js";
import { JOB_STATUSES, RETRY_INCLUDES } from "../domain/statuses.js";
import { CACHED_FIELD, CACHED_FROM_FIELD } from "../queue/result-cache.js";
import { literals } from "./literals.js";
import { COMMON_SUBMIT_FIELDS, Priority } from "./submit-fields.js";

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

/** Any JSON object (typed as one for the handlers). */
export const JsonObjectSchema = (options: { default?: JsonObject } = {}) =>
  Type.Unsafe<JsonObject>(Type.Object({}, { additionalProperties: true, ...options }));

export { literals } from "./literals.js";

export const GenericJobBody = Type.Object(
  {
    type: Type.String({
      pattern: JOB_TYPE_NAME_PATTERN,
      description: "A registered job type, by its name (batch_tests) or its submit name (tests).",
    }),
    items: Type.Array(JsonObjectSchema(), {
      minItems: 1,
      maxItems: MAX_ITEMS_PER_JOB,
    }),
    options: JsonObjectSchema({ default: {} }),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
    ...COMMON_SUBMIT_FIELDS,
  },
  { title: "JobRequest", additionalProperties: false },
);
export type GenericJobBody = Static<typeof GenericJobBody>;

const Status = Type.Union(literals(JOB_STATUSES), { description: JOB_STATUSES.join(" | ") });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const FreeObject = Type.Object({}, { additionalProperties: true });

/** Item counts of an ended job, and (agent jobs) the model usage summed over every item and try. */
export const JobSummary = Type.Object(
  {
    total: Type.Integer(),
    successful: Type.Integer(),
    failed: Type.Integer(),
    skipped: Type.Integer(),
    cancelled: Type.Integer(),
    usage: Type.Optional(UsageByModelSchema),
  },
  { title: "JobSummary", additionalProperties: true },
);

/** The fields every entry of `result.results` has, whatever the job type. */
/** An item's earlier tries, each failed and retried (the job's `retry`). */
export const AttemptsLog = Type.Array(
  Type.Object({
    attempt: Type.Integer({ minimum: 1 }),
    error: Nullable(Type.String()),
    failure: Type.Union(literals(FAILURE_REASON_NAMES)),
    finished_at: Type.Number(),
  }),
  { description: "The item's earlier tries that failed and were retried, oldest first (see retry)." },
);

export const ResultEntryBase = {
  id: Type.String({ description: "The item's id (assigned when the item had none)." }),
  error: Type.Optional(Type.String({ description: "Why the item did not succeed." })),
  worker_id: Type.Optional(Type.String({ description: "The worker that ran the item." })),
  attempts_log: Type.Optional(AttemptsLog),
  [CACHED_FIELD]: Type.Optional(
    Type.Literal(true, {
      description:
        "Answered from the result cache: the result of an earlier identical item (README: Result caching).",
    }),
  ),
  [CACHED_FROM_FIELD]: Type.Optional(
    Type.String({ description: "With cached: the job whose item ran and produced this result." }),
  ),
};

/** `result` of an ended job, its entries of one shape (`entry`): see kind-schemas.ts. */
export const JobResult = (entry: TSchema, title: string) =>
  Type.Object(
    {
      summary: JobSummary,
      elapsed_seconds: Type.Number(),
      results: Type.Optional(
        Type.Array(entry, {
          description: "One entry per item that ran: the item as submitted, its status and its outcome.",
        }),
      ),
    },
    { title, additionalProperties: true },
  );

/** A job answer whose `result` (null until the job ends) has entries of one shape. */
export const JobAnswer = (entry: TSchema, title: string, resultTitle: string) =>
  Type.Object(
    {
      job_id: Type.String({ description: "`<job_type>-<12 hex>`" }),
      job_type: Type.String({ description: "The job's type (what `job_type` filters on)." }),
      status: Status,
      priority: Priority,
      progress: Type.Number({ description: "0-100" }),
      result: Nullable(JobResult(entry, resultTitle)),
      error: Nullable(Type.String()),
      created_at: Type.Number({ description: "epoch seconds" }),
      started_at: Nullable(Type.Number()),
      completed_at: Nullable(Type.Number()),
      depends_on: Type.Array(Type.String(), {
        description: "The jobs this one waits on, as submitted (`depends_on`); [] for none.",
      }),
      waiting_for: Type.Array(Type.String(), {
        description:
          "Those of depends_on that have not ended yet: while any is left the job stays queued (also metadata.waiting_for).",
      }),
      workflow_id: Nullable(
        Type.String({
          description: "The workflow the job is a step of (metadata.workflow_id); null for none.",
        }),
      ),
      metadata: FreeObject,
    },
    { title },
  );

/** An entry of a job of a type this server does not describe (a plugin's, a processor without a kind). */
export const GenericResultEntry = Type.Object(
  { ...ResultEntryBase, status: Type.String() },
  { additionalProperties: true, title: "GenericResult" },
);

/**
 * Any job's answer, entries of any shape: what toJobResponse builds, and the document's JobResponse on a
 * server with no kind declared (otherwise one of the kinds' answers: kind-schemas.ts).
 */
export const JobResponse = JobAnswer(GenericResultEntry, "JobResponse", "JobResult");

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
  job_type: Type.Optional(
    Type.String({
      maxLength: 64,
      description: "A stored job type (`batch_tests`) or its submit name (`tests`, `agent`, `mcp`)",
    }),
  ),
  limit: PageLimit(100),
  offset: PageOffset,
  include_results: Type.Boolean({ default: false }),
});

/** A page of job answers (each of the shape `job` gives). */
export const JobListResponse = (job: TSchema) =>
  Type.Object(
    { jobs: Type.Array(job), total: Type.Integer({ description: "Jobs that match, over every page." }) },
    { title: "JobList" },
  );

export const StatsResponse = Type.Object(
  {
    stats: Type.Object({
      total: Type.Integer(),
      queued: Type.Integer(),
      running: Type.Integer(),
      completed: Type.Integer(),
      failed: Type.Integer(),
      cancelled: Type.Integer(),
      cache: Type.Object(
        {
          hits: Type.Integer({ description: "Items answered from the result cache." }),
          misses: Type.Integer({ description: "Items of cache: true jobs that found no result and ran." }),
          entries: Type.Integer({ description: "Results kept that have not expired." }),
        },
        { description: "The result cache (README: Result caching), counted on every node of the store." },
      ),
    }),
  },
  { title: "Stats" },
);

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

/** `PATCH /batch/jobs/{id}`: what of a queued or running job may change. */
export const PatchJobBody = Type.Object(
  { priority: Priority },
  { additionalProperties: false, title: "JobPatch" },
);

/** `POST /batch/jobs/{id}/retry`: which items to run again and with what options; every field optional. */
export const RetryBody = Type.Object(
  {
    include: Type.Optional(
      Type.Array(Type.Union(literals(RETRY_INCLUDES)), {
        minItems: 1,
        uniqueItems: true,
        description:
          "Ended item statuses to run again; default failed, and cancelled too when the job was cancelled. Every success word means succeeded.",
      }),
    ),
    items: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
        minItems: 1,
        maxItems: 1000,
        description: "Only these item ids (each must have an included status).",
      }),
    ),
    options: Type.Optional(
      Type.Unsafe<JsonObject>(
        Type.Object(
          {},
          {
            additionalProperties: true,
            description: "Overrides of the job's options, checked by the job type's options schema.",
          },
        ),
      ),
    ),
  },
  { additionalProperties: false, title: "RetryRequest" },
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
