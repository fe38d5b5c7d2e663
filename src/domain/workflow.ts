import type { FieldIssue } from "../errors.js";
import { Glob, GlobError } from "./glob.js";
import type { JsonObject } from "./json.js";
import type { JobStatus } from "./statuses.js";

/** Where a step's items come from: the paths an earlier step's succeeded items reported in `field`. */
export interface StepInputSource {
  step: string;
  field: string;
  /** A glob the paths must match (e.g. `*.py`, `src/**`); all paths when absent. */
  filter?: string;
}

/**
 * The inputs a step may take, each filling one items field of its route: `targets_from` a validation's
 * `targets`, `modules_from` the `modules` of tests (one `{path}` item per path).
 */
export const STEP_INPUT_FIELDS = { targets_from: "targets", modules_from: "modules" } as const;
export type StepInputName = keyof typeof STEP_INPUT_FIELDS;

export interface WorkflowStep {
  id: string;
  /** A job type, as the submit routes and `POST /batch/jobs` name it (`agent`, `validation`, `tests`…). */
  type: string;
  /** The body that type's submit route takes (without the items an input fills in). */
  body: JsonObject;
  depends_on?: string[];
  inputs?: Partial<Record<StepInputName, StepInputSource>>;
}

export interface WorkflowSpec {
  name: string;
  steps: WorkflowStep[];
}

/** A stored workflow: its spec, and the job made for each step. */
export interface WorkflowRecord {
  id: string;
  name: string;
  createdAt: number;
  /** step id -> job id. */
  jobs: Record<string, string>;
  spec: WorkflowSpec;
}

/** The job metadata keys naming a step job's workflow and step (H2's job answers show `workflow_id`). */
export const WORKFLOW_ID_KEY = "workflow_id";
export const WORKFLOW_STEP_KEY = "workflow_step";

/** The job metadata key holding a step job's pending inputs (see resolveStepInputs). */
export const INPUTS_KEY = "inputs";

/** A step's input, as its job keeps it until the source step has ended. */
export interface PendingInputs {
  state: "pending" | "resolved";
  /** The route's items field the input fills (`targets`, `modules`). */
  items_field: string;
  source: StepInputSource;
  /** The source step's job. */
  source_job: string;
  /** Set once resolved: how many paths it found. */
  paths?: number;
}

/** The single input of a step (one at most: each fills the route's one items field), or null. */
export function stepInput(step: WorkflowStep): [StepInputName, StepInputSource] | null {
  const entries = Object.entries(step.inputs ?? {}) as [StepInputName, StepInputSource][];
  return entries[0] ?? null;
}

const at = (index: number, ...rest: (string | number)[]) => ["body", "steps", index, ...rest];

/**
 * The structural problems of a workflow's steps (ids unique, dependencies named and without cycles, inputs
 * reading a step the step depends on, at most one input), or the steps in an order where each comes after
 * those it depends on.
 */
export function orderSteps(steps: readonly WorkflowStep[]): { issues: FieldIssue[]; order: WorkflowStep[] } {
  const issues: FieldIssue[] = [];
  const byId = new Map<string, WorkflowStep>();
  steps.forEach((step, i) => {
    if (byId.has(step.id))
      issues.push({
        loc: at(i, "id"),
        msg: `Duplicate step id '${step.id}'; step ids must be unique`,
        type: "value_error.duplicate_step",
      });
    else byId.set(step.id, step);
  });
  steps.forEach((step, i) => {
    (step.depends_on ?? []).forEach((dep, k) => {
      if (!byId.has(dep))
        issues.push({
          loc: at(i, "depends_on", k),
          msg: `Step '${step.id}' depends on unknown step '${dep}'`,
          type: "value_error.unknown_step",
        });
      else if (dep === step.id)
        issues.push({
          loc: at(i, "depends_on", k),
          msg: `Step '${step.id}' depends on itself`,
          type: "value_error.cycle",
        });
    });
  });
  if (issues.length > 0) return { issues, order: [] };
  // Kahn's algorithm, in the order the steps were given when there is a choice.
  const indegree = new Map(steps.map((s) => [s.id, new Set(s.depends_on ?? []).size]));
  const order: WorkflowStep[] = [];
  const ready = steps.filter((s) => indegree.get(s.id) === 0);
  while (ready.length > 0) {
    const next = ready.shift()!;
    order.push(next);
    for (const s of steps)
      if (new Set(s.depends_on ?? []).has(next.id)) {
        const left = indegree.get(s.id)! - 1;
        indegree.set(s.id, left);
        if (left === 0) ready.push(s);
      }
  }
  if (order.length < steps.length) {
    const inCycle = steps.filter((s) => !order.includes(s)).map((s) => s.id);
    steps.forEach((step, i) => {
      if (inCycle.includes(step.id))
        issues.push({
          loc: at(i, "depends_on"),
          msg: `Step '${step.id}' is in a dependency cycle (${inCycle.join(", ")})`,
          type: "value_error.cycle",
        });
    });
    return { issues, order: [] };
  }
  steps.forEach((step, i) => {
    const inputs = Object.keys(step.inputs ?? {});
    if (inputs.length > 1)
      issues.push({
        loc: at(i, "inputs"),
        msg: `Step '${step.id}' takes one input at most (it fills the route's items field); got ${inputs.join(", ")}`,
        type: "value_error.inputs",
      });
    const input = stepInput(step);
    if (!input) return;
    const [name, source] = input;
    if (source.filter !== undefined) {
      try {
        new Glob(source.filter);
      } catch (e: unknown) {
        if (!(e instanceof GlobError)) throw e;
        issues.push({
          loc: at(i, "inputs", name, "filter"),
          msg: `Step '${step.id}': the filter is not a glob it can use: ${e.message}`,
          type: "value_error.glob",
        });
      }
    }
    if (!ancestorsOf(step, byId).has(source.step))
      issues.push({
        loc: at(i, "inputs", name, "step"),
        msg: `Step '${step.id}' reads step '${source.step}', which is not among the steps it depends on (directly or through others)`,
        type: "value_error.input_step",
      });
  });
  return { issues, order: issues.length > 0 ? [] : order };
}

/** The steps a step depends on, directly or through others. */
function ancestorsOf(step: WorkflowStep, byId: ReadonlyMap<string, WorkflowStep>): Set<string> {
  const seen = new Set<string>();
  const todo = [...(step.depends_on ?? [])];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(byId.get(id)?.depends_on ?? []));
  }
  return seen;
}

/** A workflow's status, from its jobs': still going while one is queued or running; else the worst end. */
export function workflowStatus(statuses: readonly JobStatus[]): JobStatus {
  const open = statuses.filter((s) => s === "queued" || s === "running").length;
  if (open > 0) return open === statuses.length && !statuses.includes("running") ? "queued" : "running";
  if (statuses.includes("failed")) return "failed";
  if (statuses.includes("cancelled")) return "cancelled";
  return "completed";
}
