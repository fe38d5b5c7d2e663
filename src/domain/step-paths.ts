import { Glob } from "./glob.js";
import type { JsonObject } from "./json.js";

/** Paths looked at between two turns of the event loop (a source step may report hundreds of thousands). */
const PATHS_PER_TURN = 256;

/**
 * The paths a workflow step's input takes from the results of its source step's succeeded items: each
 * result's `field` (an array of paths; anything else is ignored), in order, de-duplicated, those matching
 * `filter` when given (src/domain/glob.ts: a filter without a `/` matches the file name anywhere, `*.py`
 * matches `src/a.py`, as in .gitignore; one with a `/` matches the whole path). The event loop turns every
 * PATHS_PER_TURN paths.
 */
export async function stepPaths(
  results: Iterable<JsonObject>,
  field: string,
  filter?: string,
): Promise<string[]> {
  const glob = filter === undefined ? null : new Glob(filter);
  const out = new Set<string>();
  let seen = 0;
  for (const result of results) {
    const value = result[field];
    if (!Array.isArray(value)) continue;
    for (const path of value) {
      if (++seen % PATHS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      if (typeof path === "string" && path !== "" && !out.has(path) && (glob === null || glob.matches(path)))
        out.add(path);
    }
  }
  return [...out];
}
