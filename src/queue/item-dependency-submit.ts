import {
  DEFAULT_DEPENDENCY_FAILURE_POLICY,
  DEPENDS_ON_FIELD,
  type DependencyFailurePolicy,
  dependencyPolicyProblem,
  ON_DEPENDENCY_FAILURE_FIELD,
} from "../domain/dependencies.js";
import {
  type DEPENDENCY_FAILURE_SUFFIX,
  dependencyGraph,
  type ItemDependencyInput,
} from "../domain/item-dependencies.js";
import type { NewItem } from "../domain/records.js";
import type { FieldIssue } from "../errors.js";

/** How an item outside the job ended (a retry's items that were not taken again); undefined: no such item. */
export type OutsideDependency = (
  id: string,
) => keyof typeof DEPENDENCY_FAILURE_SUFFIX | "succeeded" | undefined;

/**
 * Reads each item's `depends_on` and `on_dependency_failure` (and the job's default policy), checks the
 * graph (unknown ids, self, duplicates, cycles: 422 issues naming the items) and, when it holds, gives each
 * item its dependencies as positions. Items without any are left as they are (a job without dependencies
 * costs one pass over its items).
 */
export function withDependencies(
  items: NewItem[],
  indexOf: ReadonlyMap<string, number>,
  input: {
    onDependencyFailure?: DependencyFailurePolicy | undefined;
    outsideDependency?: OutsideDependency | undefined;
  },
  field: string,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // First a look that allocates nothing per item: most jobs have no dependencies at all.
  let any = false;
  for (let index = 0; index < items.length; index++) {
    const payload = items[index]!.payload;
    const raw = payload[DEPENDS_ON_FIELD];
    if (raw !== undefined && raw !== null) {
      if (!Array.isArray(raw) || raw.some((x) => typeof x !== "string" || x === "")) {
        issues.push({
          loc: ["body", field, index, DEPENDS_ON_FIELD],
          msg: "depends_on must be a list of item ids (non-empty strings) of this job",
          type: "type_error.list",
        });
      } else if (raw.length > 0) any = true;
    }
    const problem = dependencyPolicyProblem(payload[ON_DEPENDENCY_FAILURE_FIELD]);
    if (problem !== null)
      issues.push({
        loc: ["body", field, index, ON_DEPENDENCY_FAILURE_FIELD],
        msg: problem,
        type: "value_error.const",
      });
  }
  if (!any || issues.length > 0) return issues;
  const inputs: ItemDependencyInput[] = items.map(({ itemId, payload }) => ({
    itemId,
    dependsOn: (payload[DEPENDS_ON_FIELD] as string[] | undefined) ?? [],
  }));
  const policies = items.map(
    (i) => i.payload[ON_DEPENDENCY_FAILURE_FIELD] as DependencyFailurePolicy | undefined,
  );
  const { graph, issues: graphIssues } = dependencyGraph(inputs, indexOf, input.outsideDependency);
  for (const i of graphIssues)
    issues.push({ loc: ["body", field, i.index, ...i.at], msg: i.msg, type: i.type });
  if (issues.length > 0) return issues;
  const jobPolicy = input.onDependencyFailure ?? DEFAULT_DEPENDENCY_FAILURE_POLICY;
  for (let index = 0; index < items.length; index++) {
    const deps = graph.deps[index];
    const failure = graph.outsideFailure[index];
    if (!deps && failure === null && inputs[index]!.dependsOn.length === 0) continue;
    const item = items[index]!;
    item.dependsOn = deps ?? [];
    item.depFailure = failure;
    item.runOnDependencyFailure = (policies[index] ?? jobPolicy) === "run";
  }
  return issues;
}
