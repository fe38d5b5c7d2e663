import { randomBytes } from "node:crypto";
import type { JsonObject } from "../domain/json.js";
import type { JobRecord, NewJob } from "../domain/records.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import { stepPaths } from "../domain/step-paths.js";
import {
  INPUTS_KEY,
  orderSteps,
  type PendingInputs,
  STEP_INPUT_FIELDS,
  stepInput,
  WORKFLOW_ID_KEY,
  WORKFLOW_STEP_KEY,
  type WorkflowRecord,
  type WorkflowSpec,
  type WorkflowStep,
} from "../domain/workflow.js";
import { type FieldIssue, InvalidInputError } from "../errors.js";
import type { JobQueue, SubmitInput } from "../queue/job-queue.js";
import { kindNamed } from "../queue/job-type-alias.js";
import type { InputResolver } from "../queue/step-inputs.js";
import { genericSubmitInput } from "./generic-submit.js";
import { genericBodyIssues, kindSubmitInput, routeBodyIssues } from "./kind-submit.js";
import type { GenericJobBody } from "./schemas.js";

export const newWorkflowId = (): string => `workflow-${randomBytes(6).toString("hex")}`;

/** A 422's issues located inside step `index`'s body, each naming the step. */
function inStep(e: unknown, index: number, step: WorkflowStep): FieldIssue[] {
  if (!(e instanceof InvalidInputError)) throw e;
  return e.issues.map((issue) => ({
    ...issue,
    loc: ["body", "steps", index, "body", ...issue.loc.slice(1)],
    msg: `step '${step.id}': ${issue.msg}`,
  }));
}

/**
 * A step's body as the submit its type's route makes of it, checked as that route checks it (422s located in
 * the request body). `body` defaults to the step's own (a step fed by inputs: without its items field, which
 * the resolver fills in later).
 */
function stepSubmitInput(
  queue: JobQueue,
  step: WorkflowStep,
  body: JsonObject,
  pending: boolean,
): SubmitInput {
  // What a step's body may not say: its key is the workflow's (Idempotency-Key on the workflow), its type the
  // step's own.
  const refused: FieldIssue[] = [];
  if (body.idempotency_key !== undefined)
    refused.push({
      loc: ["body", "idempotency_key"],
      msg: "a step's body takes no idempotency_key: give the workflow an Idempotency-Key",
      type: "extra_forbidden",
    });
  if (body.type !== undefined && body.type !== step.type)
    refused.push({
      loc: ["body", "type"],
      msg: `the step's type is '${step.type}': leave type out of its body`,
      type: "value_error.type",
    });
  if (refused.length > 0) throw new InvalidInputError(refused);
  const kind = kindNamed(queue.kinds(), step.type);
  const route = kind?.submit;
  const input = stepInput(step);
  if (kind && route) {
    const issues: FieldIssue[] = [];
    if (input && STEP_INPUT_FIELDS[input[0]] !== route.itemsField)
      issues.push({
        loc: ["body", input[0]],
        msg: `${step.type} takes its items in '${route.itemsField}', which ${input[0]} does not fill (it fills '${STEP_INPUT_FIELDS[input[0]]}')`,
        type: "value_error.inputs",
      });
    if (input && pending && body[route.itemsField] !== undefined)
      issues.push({
        loc: ["body", route.itemsField],
        msg: `give '${route.itemsField}' or inputs.${input[0]}, not both`,
        type: "value_error.inputs",
      });
    issues.push(...routeBodyIssues(kind, route, body, pending && input !== null));
    if (issues.length > 0) throw new InvalidInputError(issues);
    return kindSubmitInput(queue, kind, route, body);
  }
  if (input)
    throw new InvalidInputError([
      {
        loc: ["body", input[0]],
        msg: `${step.type} has no submit route whose items inputs could fill`,
        type: "value_error.inputs",
      },
    ]);
  const generic = { ...body, type: step.type };
  const issues = genericBodyIssues(generic);
  if (issues.length > 0) throw new InvalidInputError(issues);
  return genericSubmitInput(queue, generic as unknown as GenericJobBody);
}

/** A 422 for any job a step's body waits on that does not exist (checked before anything is stored). */
async function knownJobs(queue: JobQueue, ids: readonly string[]): Promise<void> {
  const issues: FieldIssue[] = [];
  for (const [index, id] of ids.entries())
    if (!(await queue.find(id)))
      issues.push({
        loc: ["body", "depends_on", index],
        msg: `Unknown job '${id}' (never submitted, or purged)`,
        type: "value_error.unknown_job",
      });
  if (issues.length > 0) throw new InvalidInputError(issues);
}

/**
 * A workflow request as its record and the jobs of its steps (in dependency order, each naming the workflow
 * and its step in its metadata, a step fed by inputs with no items and its inputs pending), or a 422 naming
 * every step that is wrong. Nothing is stored.
 */
export async function prepareWorkflow(
  queue: JobQueue,
  spec: WorkflowSpec,
): Promise<{ workflow: WorkflowRecord; jobs: NewJob[] }> {
  const { issues, order } = orderSteps(spec.steps);
  if (issues.length > 0) throw new InvalidInputError(issues);
  const index = new Map(spec.steps.map((s, i) => [s.id, i]));
  const prepared = new Map<string, NewJob>();
  const problems: FieldIssue[] = [];
  for (const step of order) {
    const i = index.get(step.id)!;
    try {
      const input = stepSubmitInput(queue, step, structuredClone(step.body), true);
      await knownJobs(queue, input.dependsOn ?? []);
      prepared.set(step.id, await queue.prepare(input));
    } catch (e: unknown) {
      problems.push(...inStep(e, i, step));
    }
  }
  if (problems.length > 0) throw new InvalidInputError(problems.slice(0, 100));
  const id = newWorkflowId();
  const jobs: Record<string, string> = {};
  for (const [stepId, job] of prepared) jobs[stepId] = job.id;
  for (const step of order) {
    const job = prepared.get(step.id)!;
    job.metadata[WORKFLOW_ID_KEY] = id;
    job.metadata[WORKFLOW_STEP_KEY] = step.id;
    // The jobs of the steps it depends on, after any job its body names itself (`depends_on` of job ids).
    const deps = [...(job.dependsOn ?? []), ...(step.depends_on ?? []).map((d) => jobs[d]!)];
    if (deps.length > 0) job.dependsOn = [...new Set(deps)];
    const input = stepInput(step);
    if (input) {
      const [name, source] = input;
      const pending: PendingInputs = {
        state: "pending",
        items_field: STEP_INPUT_FIELDS[name],
        source,
        source_job: jobs[source.step]!,
      };
      job.metadata[INPUTS_KEY] = pending as unknown as JsonObject;
    }
  }
  const workflow: WorkflowRecord = { id, name: spec.name, createdAt: queue.nowSeconds(), jobs, spec };
  return { workflow, jobs: order.map((s) => prepared.get(s.id)!) };
}

/**
 * The resolver of a step's inputs (see InputResolver): the paths its source step's succeeded items reported,
 * made into the step's items by its route, as a submit of the step's body with those items would be.
 */
export function stepInputsResolver(queue: JobQueue): InputResolver {
  return async (job: JobRecord) => {
    const pending = job.metadata[INPUTS_KEY] as unknown as PendingInputs;
    const source = await queue.find(pending.source_job);
    if (!source) throw new Error(`its source job ${pending.source_job} is gone`);
    if (!FINAL_JOB_STATUSES.includes(source.status)) return null;
    const results: JsonObject[] = [];
    for await (const page of queue.itemPages(source.id, { status: "succeeded" }))
      for (const item of page) if (item.result) results.push(item.result);
    const paths = await stepPaths(results, pending.source.field, pending.source.filter);
    const resolved: JsonObject = { ...pending, state: "resolved", paths: paths.length };
    if (paths.length === 0) {
      resolved.note = `step '${pending.source.step}' reported no ${pending.source.field}${pending.source.filter ? ` matching ${pending.source.filter}` : ""}: nothing to run`;
      return { items: [], metadata: { [INPUTS_KEY]: resolved } };
    }
    const workflow = await queue.getWorkflow(String(job.metadata[WORKFLOW_ID_KEY]));
    const step = workflow.spec.steps.find((s) => s.id === job.metadata[WORKFLOW_STEP_KEY]);
    if (!step)
      throw new Error(`workflow ${workflow.id} has no step ${String(job.metadata[WORKFLOW_STEP_KEY])}`);
    const body = { ...structuredClone(step.body), [pending.items_field]: paths.map((path) => ({ path })) };
    const input = stepSubmitInput(queue, step, body, false);
    const made = await queue.prepare(input);
    return { items: made.items, metadata: { ...input.metadata, [INPUTS_KEY]: resolved } };
  };
}
