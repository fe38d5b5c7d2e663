import { type TObject, type TSchema, Type } from "typebox";
import { FAILURE_REASON_NAMES } from "../domain/failure.js";
import { UNSUCCESSFUL_END_STATUSES } from "../domain/statuses.js";
import { type JobKind, successWordOf } from "../queue/job-kind.js";
import { JobAnswer, JobResponse, literals, ResultEntryBase } from "./schemas.js";

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
  const result = kind.result as Partial<TObject>;
  return Type.Object(
    {
      ...kind.item.properties,
      ...optional(result.properties ?? {}),
      ...ResultEntryBase,
      status: Type.Union(literals([successWordOf(kind), ...UNSUCCESSFUL_END_STATUSES])),
      failure: Type.Optional(
        Type.Union(literals(FAILURE_REASON_NAMES), { description: "Why the item did not succeed." }),
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
