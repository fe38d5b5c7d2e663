import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { minimatch } from "minimatch";
import { type Static, Type } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "../errors.js";

export const TASK_KINDS = [
  "create-module",
  "fix-bug",
  "add-feature",
  "refactor",
  "add-tests",
  "multi-file",
] as const;
export const DIFFICULTIES = ["easy", "medium", "hard"] as const;

const FileName = Type.String({ minLength: 1, maxLength: 200, pattern: "^(?!/)(?!(.*/)?\\.\\.(/|$)).+$" });

/**
 * `eval/tasks/<name>/task.json`. Beside it: `start/` (the tree the agent gets), `solution/` (files laid over
 * the start to make the reference), `hidden/` (tests put in only at grading) and, for add-tests tasks,
 * `mutant/` (files laid over the reference to plant the bug the agent's tests must catch).
 */
export const TaskSpecSchema = Type.Object(
  {
    kind: Type.Enum(TASK_KINDS),
    difficulty: Type.Enum(DIFFICULTIES),
    description: Type.String({ minLength: 1, description: "What a user would type." }),
    visible_tests: Type.Array(FileName, {
      description: "Test files of the start tree the agent must leave as they are (put back before grading).",
    }),
    hidden_tests: Type.Array(FileName, { description: "Files of hidden/, run at grading." }),
  },
  { additionalProperties: false },
);
export type TaskSpec = Static<typeof TaskSpecSchema>;
export type TaskKind = TaskSpec["kind"];

export interface EvalTask extends TaskSpec {
  name: string;
  dir: string;
}

/** A task's parts, by directory. */
export const taskPart = (t: EvalTask, part: "start" | "solution" | "hidden" | "mutant") => join(t.dir, part);

/** Why a task's definition is unusable, or null. */
function taskProblem(dir: string, spec: unknown): string | null {
  if (!Value.Check(TaskSpecSchema, spec)) {
    const first = [...Value.Errors(TaskSpecSchema, spec)][0];
    return `task.json: ${first?.instancePath || "/"} ${first?.message ?? "is invalid"}`;
  }
  if (!existsSync(join(dir, "start"))) return "no start/ directory";
  if (!existsSync(join(dir, "solution")) && spec.kind !== "add-tests") return "no solution/ directory";
  for (const f of spec.visible_tests)
    if (!existsSync(join(dir, "start", f))) return `visible test ${f} is not in start/`;
  for (const f of spec.hidden_tests)
    if (!existsSync(join(dir, "hidden", f))) return `hidden test ${f} is not in hidden/`;
  if (spec.kind === "add-tests") {
    if (!existsSync(join(dir, "mutant"))) return "an add-tests task needs a mutant/ directory";
  } else if (spec.hidden_tests.length === 0) return "no hidden tests";
  return null;
}

/** Every task of `tasksDir` whose name matches `glob`, sorted by name; a broken definition is an error. */
export function loadTasks(tasksDir: string, glob = "*"): EvalTask[] {
  if (!existsSync(tasksDir)) throw new ConfigError(`no tasks directory ${tasksDir}`);
  const tasks: EvalTask[] = [];
  for (const name of readdirSync(tasksDir).sort()) {
    const dir = join(tasksDir, name);
    if (!statSync(dir).isDirectory() || !minimatch(name, glob)) continue;
    let spec: unknown;
    try {
      spec = JSON.parse(readFileSync(join(dir, "task.json"), "utf8"));
    } catch (e: unknown) {
      throw new ConfigError(`task ${name}: cannot read task.json (${(e as Error).message})`);
    }
    const problem = taskProblem(dir, spec);
    if (problem) throw new ConfigError(`task ${name}: ${problem}`);
    tasks.push({ ...(spec as TaskSpec), name, dir });
  }
  if (tasks.length === 0) throw new ConfigError(`no task in ${tasksDir} matches '${glob}'`);
  return tasks;
}
