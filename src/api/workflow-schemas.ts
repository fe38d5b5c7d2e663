import { type Static, Type } from "typebox";
import { JOB_TYPE_NAME_PATTERN } from "../domain/job-type.js";
import { JOB_STATUSES } from "../domain/statuses.js";
import { STEP_INPUT_FIELDS } from "../domain/workflow.js";
import { IdempotencyKeyField } from "./idempotency-key.js";
import { literals } from "./literals.js";
import { JsonObjectSchema, MAX_PARAM_LENGTH, PageLimit, PageOffset } from "./schemas.js";

/** Steps in one workflow at most. */
export const MAX_WORKFLOW_STEPS = 100;

const StepId = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
  description: "Unique within the workflow.",
});

const InputSource = Type.Object(
  {
    step: StepId,
    field: Type.String({
      minLength: 1,
      maxLength: 128,
      description:
        "The field of the source step's item results holding an array of paths, e.g. files_changed.",
    }),
    filter: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description:
          "A glob the paths must match: * (not /), ** (any depth), ?, [a-z], [!a-z], {a,b} (at most 8 patterns in all), \\x; *.py matches in any directory, src/**/*.py under src.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const WorkflowStepSchema = Type.Object(
  {
    id: StepId,
    type: Type.String({
      pattern: JOB_TYPE_NAME_PATTERN,
      description: "A job type, by its submit name (agent, validation, tests, mcp) or stored type.",
    }),
    body: JsonObjectSchema({ default: {} }),
    depends_on: Type.Optional(
      Type.Array(StepId, {
        maxItems: MAX_WORKFLOW_STEPS,
        uniqueItems: true,
        description: "Steps this one waits for.",
      }),
    ),
    inputs: Type.Optional(
      Type.Object(
        Object.fromEntries(
          Object.entries(STEP_INPUT_FIELDS).map(([name, field]) => [
            name,
            Type.Optional({
              ...InputSource,
              description: `Fills the step's \`${field}\` with { path } items.`,
            }),
          ]),
        ),
        {
          additionalProperties: false,
          description:
            "Where the step's items come from: the paths an earlier step's succeeded items reported (made when that step has ended; none: the step completes with 0 items).",
        },
      ),
    ),
  },
  { additionalProperties: false, title: "WorkflowStep" },
);

export const WorkflowBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    steps: Type.Array(WorkflowStepSchema, { minItems: 1, maxItems: MAX_WORKFLOW_STEPS }),
    idempotency_key: IdempotencyKeyField,
  },
  {
    title: "WorkflowRequest",
    additionalProperties: false,
    description:
      "One job per step, each waiting for the jobs of the steps it depends_on; a step's body is what its type's submit route takes.",
  },
);
export type WorkflowBody = Static<typeof WorkflowBody>;

const Status = Type.Union(literals(JOB_STATUSES), { description: JOB_STATUSES.join(" | ") });

export const WorkflowStepAnswer = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    job_id: Type.String(),
    status: Type.Union([Status, Type.Literal("purged")]),
    depends_on: Type.Array(Type.String()),
    total: Type.Integer({ description: "The step job's items." }),
    done: Type.Integer({ description: "Its items that ended." }),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { title: "WorkflowStepStatus" },
);

export const WorkflowAnswer = Type.Object(
  {
    workflow_id: Type.String(),
    name: Type.String(),
    status: Status,
    created_at: Type.Number(),
    progress: Type.Object({
      steps_total: Type.Integer(),
      steps_ended: Type.Integer(),
      items_total: Type.Integer(),
      items_done: Type.Integer(),
      percentage: Type.Number(),
    }),
    steps: Type.Array(WorkflowStepAnswer),
  },
  { title: "Workflow", description: "Status and progress derived from the jobs of its steps." },
);
export type WorkflowAnswer = Static<typeof WorkflowAnswer>;

export const WorkflowIdParams = Type.Object({ workflow_id: Type.String({ maxLength: MAX_PARAM_LENGTH }) });

export const ListWorkflowsQuery = Type.Object({ limit: PageLimit(100), offset: PageOffset });

export const WorkflowListResponse = Type.Object(
  { workflows: Type.Array(WorkflowAnswer), total: Type.Integer() },
  { title: "WorkflowList" },
);

export const WorkflowCancelResponse = Type.Object({
  status: Type.Literal("cancelled"),
  workflow_id: Type.String(),
  cancelled_jobs: Type.Array(Type.String()),
});
