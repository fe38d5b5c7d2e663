import type { JobKind } from "./job-kind.js";

/** `agent_tasks` and `agent-tasks` are one name. */
const norm = (name: string) => name.trim().toLowerCase().replaceAll("_", "-");

/**
 * The names a kind answers to besides its stored type: its submit name (`agent-tasks`), that name's first
 * word (`agent`), and the stored type without `batch_` (`agent_tasks`, `mcp`). `-` and `_` are one.
 */
export function jobTypeAliases(kind: JobKind): string[] {
  const names = [kind.type, kind.type.replace(/^batch_/, "")];
  if (kind.submit) names.push(kind.submit.cliName, kind.submit.cliName.split("-")[0] ?? "");
  return [...new Set(names.filter((n) => n !== "").map(norm))];
}

/**
 * The stored job type a name stands for: a stored type (`batch_tests`) as is, else the first kind that has
 * the name as an alias (`tests`, `agent`, `mcp-operations`). Any other name comes back unchanged (it
 * matches no job). One place for the API's `?job_type=` filter, and so for the CLI's `--type`.
 */
export function resolveJobType(kinds: readonly JobKind[], name: string): string {
  if (kinds.some((k) => k.type === name)) return name;
  return kindNamed(kinds, name)?.type ?? name;
}

/** The kind a name (its stored type or any alias) stands for, if any. */
export function kindNamed<K extends JobKind>(kinds: readonly K[], name: string): K | undefined {
  const wanted = norm(name);
  return kinds.find((k) => k.type === name || jobTypeAliases(k).includes(wanted));
}
