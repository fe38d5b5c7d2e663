import { Ajv, type ValidateFunction } from "ajv";
import { type TObject, Type } from "typebox";
import type { JsonObject } from "../domain/json.js";
import { type FieldIssue, InvalidInputError } from "../errors.js";
import type { JobKind } from "../queue/job-kind.js";
import { ajvIssue } from "./error-handler.js";
import { BODY_AJV_OPTIONS } from "./validators.js";

/** At most this many issues in one 422 (as the queue reports). */
const MAX_ISSUES = 100;

/** The kind's own item checks, with locations inside the request (`body.<itemsField>.<index>…`). */
export function kindItemIssues(
  kind: JobKind,
  items: readonly JsonObject[],
  itemsField: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!kind.checkItem) return issues;
  items.forEach((item, index) => {
    for (const issue of kind.checkItem!(item))
      issues.push({ ...issue, loc: ["body", itemsField, index, ...issue.loc] });
  });
  return issues;
}

const ajv = new Ajv(BODY_AJV_OPTIONS);
const compiled = new WeakMap<object, ValidateFunction>();
function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** A kind's options as `POST /batch/jobs` takes them: its fields and no other (a misspelt option is a 422). */
const strictOptions = new WeakMap<object, TObject>();
function optionsSchema(kind: JobKind): TObject {
  let schema = strictOptions.get(kind.options);
  if (!schema) {
    schema = Type.Object(kind.options.properties, { additionalProperties: false });
    strictOptions.set(kind.options, schema);
  }
  return schema;
}

/** Problems of a kind's options against its schema (defaults filled in place), located under `at`. */
function optionIssues(kind: JobKind, options: JsonObject, at: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const checkOptions = validator(optionsSchema(kind));
  if (!checkOptions(options))
    for (const e of checkOptions.errors ?? [])
      issues.push(ajvIssue({ ...e, instancePath: `${at}${e.instancePath}` }, "body"));
  return issues;
}

/**
 * A retry's `options`: the old job's options with the overrides applied, checked against the kind's options
 * schema; an override the kind does not have is a 422 that lists those it has. Returns the options to store.
 */
export function retryOptions(kind: JobKind, old: JsonObject, overrides: JsonObject): JsonObject {
  const known = Object.keys(kind.options.properties);
  const issues: FieldIssue[] = Object.keys(overrides)
    .filter((k) => !known.includes(k))
    .map((k) => ({
      loc: ["body", "options", k],
      msg: `${kind.type} has no option '${k}'; its options: ${known.join(", ") || "none"}`,
      type: "extra_forbidden",
    }));
  const merged = structuredClone({
    ...old,
    ...Object.fromEntries(Object.entries(overrides).filter(([k]) => known.includes(k))),
  });
  issues.push(...optionIssues(kind, merged, "/options"));
  if (issues.length > 0) throw new InvalidInputError(issues.slice(0, MAX_ISSUES));
  return merged;
}

/**
 * `POST /batch/jobs` for a declared kind: items and options checked against the kind's schemas as its own
 * route checks them, and the options' defaults filled in. Returns the options to store; throws a 422.
 */
export function checkGenericSubmit(
  kind: JobKind,
  items: readonly JsonObject[],
  options: JsonObject,
): JsonObject {
  const filled = structuredClone(options);
  const issues = optionIssues(kind, filled, "/options");
  const checkItem = validator(kind.item);
  for (let index = 0; index < items.length && issues.length < MAX_ISSUES; index++) {
    if (!checkItem(items[index]))
      for (const e of checkItem.errors ?? [])
        issues.push(ajvIssue({ ...e, instancePath: `/items/${index}${e.instancePath}` }, "body"));
  }
  issues.push(...kindItemIssues(kind, items, "items"));
  if (issues.length > 0) throw new InvalidInputError(issues.slice(0, MAX_ISSUES));
  return filled;
}
