import { Type } from "typebox";
import { JOB_STATUSES } from "../domain/statuses.js";

/** Request and response shapes of the REST contract (DESIGN §1); they feed validation, types and OpenAPI. */

export const CHUNK_SIZE_BOUNDS = { minimum: 1, maximum: 10_000 } as const;
export const PARALLEL_BOUNDS = { minimum: 1, maximum: 256 } as const;
export const MAX_ITEMS_PER_JOB = 1_000_000;

const ItemId = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 512,
    description: "Unique within the job; `op-<index>` when omitted.",
  }),
);
const NonBlank = (description: string) => Type.String({ minLength: 1, pattern: "\\S", description });
const TimeoutSeconds = Type.Number({
  exclusiveMinimum: 0,
  maximum: 86_400,
  description: "Per-item time limit.",
});

export const TaskItem = Type.Object(
  { id: ItemId, description: NonBlank("What the coding agent should do.") },
  { additionalProperties: true, title: "AgentTask" },
);

export const PathItem = Type.Object(
  {
    id: ItemId,
    path: Type.String({ minLength: 1, maxLength: 4096, description: "Inside the project root." }),
  },
  { additionalProperties: true, title: "PathTarget" },
);

export const OperationItem = Type.Object(
  {
    id: ItemId,
    type: Type.Union(
      [Type.Literal("read"), Type.Literal("write"), Type.Literal("list"), Type.Literal("command")],
      {
        description: "read | write | list | command",
      },
    ),
    path: Type.Optional(Type.String({ maxLength: 4096 })),
    content: Type.Optional(Type.String()),
    command: Type.Optional(Type.String({ maxLength: 65_536 })),
    timeout_seconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: true, title: "McpOperation" },
);

const ChunkSize = (dflt: number) =>
  Type.Integer({ ...CHUNK_SIZE_BOUNDS, default: dflt, description: "Items claimed by a worker at a time." });
const Parallel = (dflt: number) =>
  Type.Integer({ ...PARALLEL_BOUNDS, default: dflt, description: "Items of this job running at once." });
const Items = <T extends ReturnType<typeof Type.Object>>(item: T, description: string) =>
  Type.Array(item, { minItems: 1, maxItems: MAX_ITEMS_PER_JOB, description });

export const AgentTasksBody = Type.Object(
  {
    tasks: Items(TaskItem, "Coding tasks."),
    chunk_size: ChunkSize(10),
    parallel: Parallel(3),
    check_command: Type.String({ minLength: 1, default: "pytest -q" }),
    max_loops: Type.Integer({ minimum: 1, maximum: 1000, default: 16 }),
    coder_model: Type.String({ minLength: 1, default: "qwen2.5-coder:7b" }),
    reviewer_model: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: "llama3.2" }),
    apply_changes: Type.Boolean({ default: true }),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    workspace: Type.Optional(Type.String({ minLength: 1, description: "Subdirectory of the project root." })),
  },
  { title: "AgentTasksRequest" },
);

export const ValidationBody = Type.Object(
  {
    targets: Items(PathItem, "Files or directories to check."),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
    check_command: Type.String({ minLength: 1, default: "pytest -q" }),
    timeout_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 300 }),
  },
  { title: "ValidationRequest" },
);

export const TestsBody = Type.Object(
  {
    modules: Items(PathItem, "Test modules to run."),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
    test_command: Type.String({ minLength: 1, default: "pytest -v" }),
    timeout_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 300 }),
  },
  { title: "TestsRequest" },
);

export const McpOperationsBody = Type.Object(
  {
    operations: Items(OperationItem, "Filesystem operations."),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
    timeout_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 86_400, default: 60 }),
  },
  { title: "McpOperationsRequest" },
);

export const GenericJobBody = Type.Object(
  {
    type: Type.String({ pattern: "^[a-z][a-z0-9_]{0,63}$", description: "A registered job type." }),
    items: Type.Array(Type.Object({}, { additionalProperties: true }), {
      minItems: 1,
      maxItems: MAX_ITEMS_PER_JOB,
    }),
    options: Type.Object({}, { additionalProperties: true, default: {} }),
    chunk_size: ChunkSize(100),
    parallel: Parallel(5),
  },
  { title: "JobRequest" },
);

const Status = Type.Union(
  JOB_STATUSES.map((s) => Type.Literal(s)),
  { description: JOB_STATUSES.join(" | ") },
);
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

export const JobIdParams = Type.Object({ job_id: Type.String({ maxLength: 200 }) });

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
