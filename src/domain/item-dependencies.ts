import { DEPENDS_ON_FIELD } from "./dependencies.js";

/**
 * Dependencies between the items of one job (`depends_on: ["task1", …]`): the words and the rules both
 * engines and the API share. An item with dependencies waits (stored status WAITING_ITEM_STATUS, answered as
 * `queued`) until each has ended; one that did not succeed skips it, unless its policy says `run`.
 */

/**
 * How the error of a skipped dependant ends, after `dependency <id>`, by how its dependency ended. The stores
 * build the message in SQL from the dependency's id and this.
 */
export const DEPENDENCY_FAILURE_SUFFIX = {
  failed: " failed",
  skipped: " was skipped",
  cancelled: " was cancelled",
} as const;

export function dependencyFailure(depId: string, status: keyof typeof DEPENDENCY_FAILURE_SUFFIX): string {
  return `dependency ${depId}${DEPENDENCY_FAILURE_SUFFIX[status]}`;
}

/** One problem of a job's dependency graph, at the item it is about. */
export interface DependencyIssue {
  index: number;
  /** Where in the item (["depends_on", 2]); empty for the item itself. */
  at: (string | number)[];
  msg: string;
  type: string;
}

/** An item's dependencies as the API gave them: ids, with how a failed one is taken. */
export interface ItemDependencyInput {
  itemId: string;
  dependsOn: readonly string[];
}

/** The job's dependency graph in positions: each item's dependencies (indexes), or null for none. */
export interface DependencyGraph {
  deps: (number[] | null)[];
  /** Per item: the failure of a dependency outside the job (a retry's items that did not succeed), or null. */
  outsideFailure: (string | null)[];
}

/**
 * Resolves ids to positions and checks the graph: an unknown id (unless `outside` knows how it ended), an
 * item that depends on itself, a duplicate, a cycle. O(items + edges), no recursion (Kahn's order, then one
 * walk to name a cycle).
 */
export function dependencyGraph(
  items: readonly ItemDependencyInput[],
  indexOf: ReadonlyMap<string, number>,
  outside?: (id: string) => keyof typeof DEPENDENCY_FAILURE_SUFFIX | "succeeded" | undefined,
): { graph: DependencyGraph; issues: DependencyIssue[] } {
  const n = items.length;
  const deps: (number[] | null)[] = new Array(n).fill(null);
  const outsideFailure: (string | null)[] = new Array(n).fill(null);
  const issues: DependencyIssue[] = [];
  for (let index = 0; index < n; index++) {
    const { itemId, dependsOn } = items[index]!;
    if (dependsOn.length === 0) continue;
    const mine: number[] = [];
    const seen = new Set<string>();
    dependsOn.forEach((id, k) => {
      const at = [DEPENDS_ON_FIELD, k];
      if (seen.has(id)) {
        issues.push({
          index,
          at,
          msg: `Item '${itemId}' names dependency '${id}' twice`,
          type: "value_error.dependency_duplicate",
        });
        return;
      }
      seen.add(id);
      if (id === itemId) {
        issues.push({
          index,
          at,
          msg: `Item '${itemId}' depends on itself`,
          type: "value_error.dependency_self",
        });
        return;
      }
      const dep = indexOf.get(id);
      if (dep !== undefined) {
        mine.push(dep);
        return;
      }
      const ended = outside?.(id);
      if (ended === "succeeded") return;
      if (ended !== undefined) {
        outsideFailure[index] ??= dependencyFailure(id, ended);
        return;
      }
      issues.push({
        index,
        at,
        msg: `Item '${itemId}' depends on '${id}', which is not an item of this job`,
        type: "value_error.dependency_unknown",
      });
    });
    if (mine.length > 0) deps[index] = mine;
  }
  if (issues.length === 0) {
    const cycle = findCycle(deps);
    if (cycle !== null) {
      const names = cycle.map((i) => items[i]!.itemId);
      issues.push({
        index: cycle[0]!,
        at: [DEPENDS_ON_FIELD],
        msg: `cycle: ${cycleText(names)}`,
        type: "value_error.dependency_cycle",
      });
    }
  }
  return { graph: { deps, outsideFailure }, issues };
}

/** Ids named in a cycle's message at most, at each end (a cycle through 100,000 items is not a 1 MB answer). */
const CYCLE_IDS_SHOWN = 10;

/** `a -> b -> c -> a`, or with a long cycle its ends and how many items it goes through in between. */
function cycleText(names: readonly string[]): string {
  if (names.length <= 2 * CYCLE_IDS_SHOWN + 1) return names.join(" -> ");
  const head = names.slice(0, CYCLE_IDS_SHOWN).join(" -> ");
  const tail = names.slice(-CYCLE_IDS_SHOWN).join(" -> ");
  return `${head} -> … (${names.length - 2 * CYCLE_IDS_SHOWN} more) -> ${tail}`;
}

/**
 * A cycle of the graph (positions, the first repeated at the end: a -> b -> a, "a depends on b"), or null.
 * Kahn's order removes every item whose dependencies are all removed; each item left has a dependency left,
 * so following them from any item left comes back to an item already seen.
 */
function findCycle(deps: readonly (number[] | null)[]): number[] | null {
  const n = deps.length;
  const pending = new Int32Array(n);
  const dependants: number[][] = [];
  for (let i = 0; i < n; i++) {
    const d = deps[i];
    if (!d) continue;
    pending[i] = d.length;
    for (const dep of d) {
      const list = dependants[dep];
      if (list) list.push(i);
      else dependants[dep] = [i];
    }
  }
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (pending[i] === 0) ready.push(i);
  let done = 0;
  while (ready.length > 0) {
    const i = ready.pop()!;
    done++;
    for (const next of dependants[i] ?? []) if (--pending[next]! === 0) ready.push(next);
  }
  if (done === n) return null;
  let start = 0;
  while (pending[start] === 0) start++;
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let at = start;
  while (!seenAt.has(at)) {
    seenAt.set(at, path.length);
    path.push(at);
    at = deps[at]!.find((d) => pending[d]! > 0)!;
  }
  return [...path.slice(seenAt.get(at)), at];
}
