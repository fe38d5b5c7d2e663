import { minimatch } from "minimatch";
import type { JsonObject } from "./json.js";

/**
 * The paths a workflow step's input takes from the results of its source step's succeeded items: each
 * result's `field` (an array of paths; anything else is ignored), in order, de-duplicated, those matching
 * `filter` when given. A filter without a `/` matches the file name anywhere (`*.py` matches `src/a.py`), as
 * in .gitignore; one with a `/` matches the whole path.
 */
export function stepPaths(results: Iterable<JsonObject>, field: string, filter?: string): string[] {
  const out = new Set<string>();
  for (const result of results) {
    const value = result[field];
    if (!Array.isArray(value)) continue;
    for (const path of value)
      if (typeof path === "string" && path !== "" && (filter === undefined || matches(path, filter)))
        out.add(path);
  }
  return [...out];
}

function matches(path: string, glob: string): boolean {
  return minimatch(path, glob, { dot: true, matchBase: !glob.includes("/") });
}
