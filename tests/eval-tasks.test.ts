import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIFFICULTIES, loadTasks, TASK_KINDS } from "../src/eval/task-spec.js";
import { tempDir } from "./helpers/temp.js";

const TASKS_DIR = join(import.meta.dirname, "..", "eval", "tasks");

describe("the shipped eval tasks", () => {
  it("are at least 40 valid definitions over every kind and difficulty", () => {
    const tasks = loadTasks(TASKS_DIR);
    expect(tasks.length).toBeGreaterThanOrEqual(40);
    expect(new Set(tasks.map((t) => t.kind))).toEqual(new Set(TASK_KINDS));
    expect(new Set(tasks.map((t) => t.difficulty))).toEqual(new Set(DIFFICULTIES));
    for (const t of tasks) {
      expect(t.description.length, t.name).toBeGreaterThan(40);
      // The hidden tests are nowhere in the tree the agent gets.
      for (const h of t.hidden_tests) expect(existsSync(join(t.dir, "start", h)), t.name).toBe(false);
      if (t.kind === "add-tests") expect(existsSync(join(t.dir, "mutant")), t.name).toBe(true);
    }
  });

  it("refuses a broken definition, naming the task and what is wrong", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "bad", "start"), { recursive: true });
    writeFileSync(
      join(dir, "bad", "task.json"),
      JSON.stringify({
        kind: "guess",
        difficulty: "easy",
        description: "x",
        visible_tests: [],
        hidden_tests: [],
      }),
    );
    expect(() => loadTasks(dir)).toThrow(/task bad: task.json: \/kind/);
    expect(() => loadTasks(TASKS_DIR, "no-such-*")).toThrow(/no task .* matches 'no-such-\*'/);
  });
});
