import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gradeTree } from "../src/eval/grade.js";
import { type EvalTask, loadTasks, taskPart } from "../src/eval/task-spec.js";
import { overlay } from "../src/eval/tree.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { tempDir } from "./helpers/temp.js";

const TASKS_DIR = join(import.meta.dirname, "..", "eval", "tasks");

/** Grades a tree made of the start and, with `solved`, the reference solution laid over it (python3, unjailed). */
async function grade(task: EvalTask, solved: boolean) {
  const tree = tempDir();
  overlay(taskPart(task, "start"), tree);
  if (solved) overlay(taskPart(task, "solution"), tree);
  const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root: tree, mode: "off" });
  return gradeTree(task, tree, { sandbox, workDir: tempDir(), timeoutMs: 120_000 });
}

describe("every shipped task is sound", () => {
  it("its reference solution passes its hidden tests (or, for add-tests, catches the planted bug) and its start tree does not", {
    timeout: 900_000,
  }, async () => {
    const tasks = loadTasks(TASKS_DIR);
    const problems: string[] = [];
    // Four gradings at a time: each is a python3 process or two.
    for (let i = 0; i < tasks.length; i += 4)
      await Promise.all(
        tasks.slice(i, i + 4).map(async (t) => {
          const ref = await grade(t, true);
          if (!ref.passed) problems.push(`${t.name}: the reference fails (${ref.verdict}: ${ref.detail})`);
          const start = await grade(t, false);
          if (start.passed) problems.push(`${t.name}: the start tree already passes`);
        }),
      );
    expect(problems).toEqual([]);
  });
});
