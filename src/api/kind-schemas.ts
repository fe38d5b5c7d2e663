import { type TObject, type TSchema, Type } from "typebox";
import type { JobKind } from "../queue/job-kind.js";
import { JobAnswer, JobResponse, literals, ResultEntryBase } from "./schemas.js";

/**
 * The statuses an entry of `result.results` takes: its kind's success word, else one of END_STATUSES, with
 * `failure` saying why. Part A of issue 15 settles this vocabulary in src/domain/; these two constants are
 * the one place to replace with it.
 */
export const SUCCESS_STATUS_BY_TYPE: Readonly<Record<string, string>> = {
  batch_agent_tasks: "completed",
  batch_validation: "passed",
  batch_tests: "passed",
  batch_mcp: "success",
};
export const END_STATUSES = ["failed", "skipped", "cancelled"] as const;
export const FAILURE_REASONS = [
  "check",
  "error",
  "timeout",
  "security",
  "not_found",
  "conflict",
  "invalid",
] as const;

/** The name a kind's schemas go by (`Validation` → `ValidationResult`, `ValidationJob`). */
export function kindSchemaName(kind: JobKind): string {
  const title = kind.submit?.title.replace(/Request$/, "");
  if (title) return title;
  return kind.type
    .replace(/^batch_/, "")
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

const optional = (props: TObject["properties"]) =>
  Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v)]));

/**
 * One entry of a kind's `result.results`: the item's own fields (as the kind declares them), its id, status
 * and error, and the fields the kind's result adds (absent when the item never produced a result: cancelled,
 * or its processor threw; so optional).
 */
export function resultEntrySchema(kind: JobKind): TSchema {
  const success = SUCCESS_STATUS_BY_TYPE[kind.type];
  const result = kind.result as Partial<TObject>;
  return Type.Object(
    {
      ...kind.item.properties,
      ...optional(result.properties ?? {}),
      ...ResultEntryBase,
      status: success ? Type.Union(literals([success, ...END_STATUSES])) : Type.String(),
      failure: Type.Optional(
        Type.Union(literals(FAILURE_REASONS), { description: "Why the item did not succeed." }),
      ),
    },
    { additionalProperties: true, title: `${kindSchemaName(kind)}Result` },
  );
}

/** A kind's job answer: `job_type` its own, `result.results` its entries. */
export function kindJobSchema(kind: JobKind): TObject {
  const name = kindSchemaName(kind);
  const answer = JobAnswer(resultEntrySchema(kind), `${name}Job`, `${name}JobResult`);
  return Type.Object(
    { ...answer.properties, job_type: Type.Literal(kind.type) },
    { title: `${name}Job`, description: `A ${kind.type} job.` },
  );
}

/**
 * Any job's answer as the document gives it: one of the kinds' answers, told apart by `job_type` (or, for a
 * job of a type no kind describes, the generic JobResponse; not listed, so a client narrows on job_type).
 */
export function anyJobSchema(kinds: readonly JobKind[]): TSchema {
  if (kinds.length === 0) return JobResponse;
  return Type.Union(kinds.map(kindJobSchema), {
    title: "JobResponse",
    discriminator: {
      propertyName: "job_type",
      mapping: Object.fromEntries(kinds.map((k) => [k.type, `#/components/schemas/${kindSchemaName(k)}Job`])),
    },
  });
}
