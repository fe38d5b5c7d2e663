import { type TSchema, Type } from "typebox";
import { RUN_DEFAULTS } from "../agent/run-config.js";
import { UsageByModelSchema } from "../domain/model-usage.js";
import type { JobKind } from "../queue/job-kind.js";
import { APPLY_MODES, ISOLATIONS } from "../workspace/isolation.js";
import { cacheOptions, ItemDependencyFields, ItemId, NonBlank, TimeoutSeconds } from "./kind-fields.js";

/** A path beneath a directory (relative, no `..`): a task's workspace, a linked path. */
const RelativePath = (description?: string) =>
  Type.String({
    minLength: 1,
    maxLength: 1024,
    pattern: "^(?!/)(?!(.*/)?\\.\\.(/|$)).+$",
    ...(description ? { description } : {}),
  });

const AgentTaskItem = Type.Object(
  {
    id: ItemId,
    ...ItemDependencyFields,
    description: NonBlank("What the coding agent should do."),
    workspace: Type.Optional(
      RelativePath(
        "This task's directory inside the job's workspace (its tools and check run there); with isolation worktree or copy, inside the task's own copy. The benchmark (`ollama-coder eval`) gives each task its own.",
      ),
    ),
  },
  { additionalProperties: true, title: "AgentTask" },
);

/** The run settings a job may give; the defaults are the agent's own (RUN_DEFAULTS). */
const AgentOptions = Type.Object({
  check_command: Type.String({ minLength: 1, default: RUN_DEFAULTS.check_command }),
  max_loops: Type.Integer({ minimum: 1, maximum: 1000, default: RUN_DEFAULTS.max_loops }),
  coder_model: Type.String({ minLength: 1, maxLength: 256, default: RUN_DEFAULTS.coder_model }),
  reviewer_model: Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()], {
    default: RUN_DEFAULTS.reviewer_model,
  }),
  apply_changes: Type.Boolean({ default: RUN_DEFAULTS.apply_changes }),
  timeout_seconds: Type.Optional(TimeoutSeconds),
  workspace: Type.Optional(Type.String({ minLength: 1, description: "Subdirectory of the project root." })),
  isolation: Type.Optional(
    Type.Union(
      ISOLATIONS.map((i) => Type.Literal(i)),
      {
        description:
          "worktree: each task in a git worktree on a branch of its own (default in a git repository with a commit); copy: each task in a copy of a snapshot of the project (default otherwise); shared: every task in the project itself.",
      },
    ),
  ),
  apply: Type.Optional(
    Type.Union(
      APPLY_MODES.map((a) => Type.Literal(a)),
      {
        description:
          "merge (default): tasks that succeed are merged into the project one at a time, a conflict fails the task and changes nothing; patch: a patch file per task; none: branches only. apply_changes: false means none.",
      },
    ),
  ),
  target_branch: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: "^[A-Za-z0-9][A-Za-z0-9._/-]*$",
      description: "Merge into this branch (created from the base) instead of the branch checked out.",
    }),
  ),
  attempts: Type.Integer({
    minimum: 1,
    maximum: 8,
    default: 1,
    description:
      "Tries of each task run at once, each in a workspace of its own (the first with the job's settings, the others warmer and reseeded); the first that succeeds is merged, the others are stopped. Needs isolation worktree or copy.",
  }),
  link_paths: Type.Optional(
    Type.Array(RelativePath(), {
      maxItems: 64,
      description:
        "Project paths git does not carry that checks need, shared read-only with each task (node_modules, .venv and venv are always).",
    }),
  ),
  ...cacheOptions(
    "the task, the job's other options and the base commit its tasks start from; isolation worktree or copy only. Models are not deterministic: a cached answer is a replay of the earlier run, nothing is merged again",
  ),
});

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** The task's check, as it last ran. */
const CheckOutcome = Type.Object(
  {
    command: Type.String(),
    passed: Type.Boolean(),
    exit_code: Nullable(Type.Integer()),
    output: Type.String(),
    duration_seconds: Type.Number(),
  },
  { title: "CheckOutcome" },
);

const TranscriptEntry = Type.Object(
  {
    role: Type.String({ description: "user | assistant | tool | check | reviewer | note" }),
    content: Type.String(),
    tool_calls: Type.Optional(
      Type.Array(
        Type.Object({ name: Type.String(), arguments: Type.Object({}, { additionalProperties: true }) }),
      ),
    ),
    tool_name: Type.Optional(Type.String()),
    model: Type.Optional(Type.String()),
  },
  { title: "TranscriptEntry" },
);

/** What a task's result entry adds: the agent's TaskResult without its status and error, and its workspace's story. */
const AgentResult = Type.Object(
  {
    validator_ok: Type.Boolean({ description: "The check passed." }),
    approved: Type.Boolean({ description: "The reviewer approved." }),
    loops: Type.Integer({
      description: "Model calls the task made (the chosen try's, with attempts above 1).",
    }),
    files_changed: Type.Array(Type.String()),
    diff: Type.String(),
    check: Nullable(CheckOutcome),
    // Tokens and seconds by model (coder and reviewer apart), summed over every try.
    usage: UsageByModelSchema,
    transcript: Type.Array(TranscriptEntry),
    review: Nullable(Type.String()),
    isolation: Type.Optional(Type.Union(ISOLATIONS.map((i) => Type.Literal(i)))),
    base_commit: Type.Optional(Nullable(Type.String())),
    branch: Type.Optional(Nullable(Type.String())),
    commit: Type.Optional(Nullable(Type.String())),
    apply: Type.Optional(
      Type.Object(
        { status: Type.String({ description: "merged | conflict | refused | none | patch | skipped" }) },
        { additionalProperties: true },
      ),
    ),
    tries: Type.Optional(
      Type.Array(
        Type.Object(
          {
            try: Type.Integer(),
            loops: Type.Integer(),
            outcome: Type.String({ description: "chosen | cancelled | completed | failed" }),
            branch: Nullable(Type.String()),
            usage: Type.Optional(UsageByModelSchema),
          },
          { additionalProperties: true },
        ),
        { description: "With attempts above 1: each try." },
      ),
    ),
  },
  { additionalProperties: true },
);

export const AGENT_KIND = {
  type: "batch_agent_tasks",
  item: AgentTaskItem,
  options: AgentOptions,
  result: AgentResult,
  successWord: "completed",
  reportsUsage: true,
  submit: {
    path: "/batch/agent-tasks",
    cliName: "agent-tasks",
    summary: "Submit coding tasks for the coder/reviewer agent",
    title: "AgentTasksRequest",
    itemsField: "tasks",
    itemsDescription: "Coding tasks.",
    totalKey: "total_tasks",
    chunkSize: 10,
    parallel: 3,
  },
} satisfies JobKind;
