import { Type } from "typebox";
import { DEPENDENCY_FAILURE_POLICIES } from "../domain/dependencies.js";
import { CACHE_TTL_DEFAULT_SECONDS, CACHE_TTL_MAX_SECONDS } from "../queue/result-cache.js";

/** Schema parts the built-in job kinds share. */

export const ItemId = Type.Optional(
  Type.String({
    minLength: 1,
    maxLength: 512,
    description: "Unique within the job; `op-<index>` when omitted.",
  }),
);

/** What every kind's item may add: the items of its job it waits for (see src/domain/item-dependencies.ts). */
export const ItemDependencyFields = {
  depends_on: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description:
        "Ids of items of this job that must end before this one starts (it is `queued` meanwhile). An unknown id, the item itself, a duplicate or a cycle is a 422 naming the items.",
    }),
  ),
  on_dependency_failure: Type.Optional(
    Type.Union(
      DEPENDENCY_FAILURE_POLICIES.map((p) => Type.Literal(p)),
      {
        description:
          'When a dependency failed, was skipped or cancelled: "skip" (default) ends this item `skipped` with `error: "dependency <id> failed"`; "run" runs it anyway. A job option of the same name sets it for every item.',
      },
    ),
  ),
};

export const NonBlank = (description: string) => Type.String({ minLength: 1, pattern: "\\S", description });

const TIMEOUT_BOUNDS = { exclusiveMinimum: 0, maximum: 86_400 } as const;

export const TimeoutSeconds = Type.Number({ ...TIMEOUT_BOUNDS, description: "Per-item time limit." });

/** A job's `timeout_seconds` option, with its default. */
export const TimeoutOption = (dflt: number) => Type.Number({ ...TIMEOUT_BOUNDS, default: dflt });

/** A file or directory inside the project root (validation targets, test modules). */
export const PathItem = Type.Object(
  {
    id: ItemId,
    ...ItemDependencyFields,
    path: Type.String({ minLength: 1, maxLength: 4096, description: "Inside the project root." }),
    // Kept with the item and read by the processor; not checked at submit (it never was).
    timeout_seconds: Type.Optional(Type.Unknown({ description: "Per-item time limit (seconds)." })),
  },
  { additionalProperties: true, title: "PathTarget" },
);

/** The fields every command result carries (see commandFields). */
export const CommandResult = Type.Object(
  {
    command: Type.String(),
    exit_code: Type.Union([Type.Integer(), Type.Null()]),
    stdout: Type.String(),
    stderr: Type.String(),
    duration_seconds: Type.Number(),
    truncated: Type.Optional(Type.Boolean()),
    timed_out: Type.Optional(Type.Boolean()),
    signal: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/**
 * The result cache's options, which every cacheable kind's options take (README: Result caching). `what` says
 * what an item's key covers for the kind.
 */
export const cacheOptions = (what: string) => ({
  cache: Type.Optional(
    Type.Boolean({
      description: `Answer an item from the result of an earlier successful identical item (${what}) kept within cache_ttl_seconds; its entry says cached: true and cached_from: <job id>. Identical items of one job run once. Default false.`,
    }),
  ),
  cache_ttl_seconds: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: CACHE_TTL_MAX_SECONDS,
      description: `How long this job's successful results answer later items (default ${CACHE_TTL_DEFAULT_SECONDS}, a day; at most 30 days).`,
    }),
  ),
});
