import { type Static, Type } from "typebox";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";

/** `DELETE /batch/jobs/{id}`: cancels, or with `purge=true` deletes an ended job and its items. */
/** `cascade`: whether a cancel also cancels the jobs waiting on the job (README: Job dependencies). */
const Cascade = Type.Boolean({
  default: true,
  description:
    "also cancel the jobs that wait on this one (depends_on), and theirs, whatever their on_dependency_failure; false: each follows its on_dependency_failure",
});

export const DeleteJobQuery = Type.Object({
  purge: Type.Boolean({
    default: false,
    description: "delete the job (ended ones only) and its items, instead of cancelling it",
  }),
  cascade: Cascade,
});

/** `POST /batch/jobs/{id}/cancel`. */
export const CancelJobQuery = Type.Object({ cascade: Cascade });

export const CancelledResponse = Type.Object(
  { status: Type.Literal("cancelled"), job_id: Type.String() },
  { title: "Cancelled" },
);

export const CancelOrPurgeResponse = Type.Object(
  {
    status: Type.Union([Type.Literal("cancelled"), Type.Literal("purged")]),
    job_id: Type.String(),
  },
  { title: "CancelledOrPurged" },
);

const EndedStatus = Type.Union(FINAL_JOB_STATUSES.map((s) => Type.Literal(s)));

/** `POST /batch/cleanup`: the guide's "delete old completed jobs", on demand. */
export const CleanupBody = Type.Object(
  {
    older_than_days: Type.Number({
      minimum: 0,
      maximum: 36_500,
      description: "delete jobs that ended more than this many days ago (0: every ended job)",
      examples: [7],
    }),
    status: Type.Optional(
      Type.Union([EndedStatus, Type.Array(EndedStatus, { minItems: 1, maxItems: 3 })], {
        description: "only jobs that ended so (default: completed, failed and cancelled)",
        examples: ["completed"],
      }),
    ),
  },
  { additionalProperties: false, title: "CleanupRequest" },
);
export type CleanupBody = Static<typeof CleanupBody>;

export const CleanupResponse = Type.Object(
  {
    deleted: Type.Integer({ description: "jobs deleted; their items are removed in the background" }),
    job_ids: Type.Array(Type.String()),
  },
  { title: "Cleanup" },
);
