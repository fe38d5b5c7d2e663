import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Sandbox } from "../sandbox/sandbox.js";
import { type EvalTask, taskPart } from "./task-spec.js";
import { listFiles, overlay, readOrNull } from "./tree.js";

/** What grading a task's final tree came to. */
export interface Grade {
  passed: boolean;
  /** passed | failed | timeout | cheated | no-tests | not-caught | error: the one word the summary counts. */
  verdict: "passed" | "failed" | "timeout" | "cheated" | "no-tests" | "not-caught" | "error";
  /** Why, in a sentence (the test output's tail when tests failed). */
  detail: string;
}

export interface Grader {
  /** The sandbox commands run through (its jail, its guardrail); each grading gets it rooted at its own dir. */
  sandbox: Sandbox;
  /** Where grading directories are made (removed after). */
  workDir: string;
  /** Time limit of one test run; a run cut off fails the task. */
  timeoutMs: number;
}

/** The ini file pytest is pointed at: the task's own (or the agent's) configuration files are not read. */
const INI = "eval_pytest.ini";

/** What agents' test files are named (pytest's own default). */
const TEST_FILE = /^(test_.*|.*_test)\.py$/;

/**
 * pytest in isolated mode (-I: neither the working directory nor PYTHON* variables on the path at start, so a
 * `pytest.py` the agent wrote is not what runs), without conftest files or a cache, on the given files only.
 */
async function runTests(
  g: Grader,
  dir: string,
  files: readonly string[],
): Promise<{ exit: number | null; timedOut: boolean; output: string }> {
  writeFileSync(join(dir, INI), "[pytest]\n");
  const run = await g.sandbox.rootedAt(dir).run({
    command: ["python3", "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", "-c", INI],
    extraArgs: [...files],
    cwd: dir,
    timeoutMs: g.timeoutMs,
  });
  const output = [run.spawn_error, run.stdout, run.stderr].filter(Boolean).join("\n").trim();
  return { exit: run.exit_code, timedOut: run.timed_out, output };
}

const tail = (s: string, n = 1500) => (s.length > n ? `…${s.slice(-n)}` : s);

/** Changes the agent may not make: visible tests edited or deleted, a file named like a hidden test. */
function tampering(task: EvalTask, finalTree: string): string | null {
  const start = taskPart(task, "start");
  for (const f of task.visible_tests)
    if (readOrNull(join(finalTree, f)) !== readOrNull(join(start, f)))
      return `the visible test ${f} was changed or deleted`;
  const hidden = new Set(task.hidden_tests.map((f) => basename(f)));
  const clash = listFiles(finalTree).find((f) => hidden.has(basename(f)));
  return clash ? `wrote ${clash}, the name of a hidden test file` : null;
}

/** A fresh directory for one grading run, removed by `done`. */
function scratch(g: Grader): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(g.workDir, "grade-"));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Grades a task's final tree (left untouched): cheating never passes; then a fresh copy of it, the visible
 * tests put back from the start tree, the hidden tests copied in and run with the visible ones; a run that
 * times out fails. An add-tests task is graded by mutation instead (see gradeByMutation).
 */
export async function gradeTree(task: EvalTask, finalTree: string, g: Grader): Promise<Grade> {
  const cheat = tampering(task, finalTree);
  if (cheat) return { passed: false, verdict: "cheated", detail: cheat };
  if (task.kind === "add-tests") return gradeByMutation(task, finalTree, g);
  const { dir, done } = scratch(g);
  try {
    overlay(finalTree, dir);
    for (const f of task.visible_tests)
      writeFileSync(join(dir, f), readOrNull(join(taskPart(task, "start"), f))!);
    overlay(taskPart(task, "hidden"), dir);
    const run = await runTests(g, dir, [...task.visible_tests, ...task.hidden_tests]);
    if (run.timedOut)
      return { passed: false, verdict: "timeout", detail: `the tests ran past ${g.timeoutMs / 1000} s` };
    if (run.exit === 0) return { passed: true, verdict: "passed", detail: "hidden tests passed" };
    return { passed: false, verdict: "failed", detail: tail(run.output) };
  } finally {
    done();
  }
}

/**
 * An add-tests task: the test files the agent added or changed, run against the reference code (the start
 * tree: they must pass) and against it with the planted bug (`mutant/`: they must fail). Whatever else the
 * agent changed is not used.
 */
async function gradeByMutation(task: EvalTask, finalTree: string, g: Grader): Promise<Grade> {
  const start = taskPart(task, "start");
  const tests = listFiles(finalTree).filter(
    (f) => TEST_FILE.test(basename(f)) && readOrNull(join(finalTree, f)) !== readOrNull(join(start, f)),
  );
  if (tests.length === 0)
    return { passed: false, verdict: "no-tests", detail: "the agent added no test file" };
  const against = async (mutant: boolean) => {
    const { dir, done } = scratch(g);
    try {
      overlay(start, dir);
      if (mutant) overlay(taskPart(task, "mutant"), dir);
      for (const f of tests) writeFileSync(join(dir, f), readOrNull(join(finalTree, f))!);
      return await runTests(g, dir, tests);
    } finally {
      done();
    }
  };
  const reference = await against(false);
  if (reference.timedOut)
    return { passed: false, verdict: "timeout", detail: `the tests ran past ${g.timeoutMs / 1000} s` };
  if (reference.exit !== 0)
    return {
      passed: false,
      verdict: "failed",
      detail: `the agent's tests fail on the correct code: ${tail(reference.output)}`,
    };
  const mutated = await against(true);
  // Failing tests (1) or a collection error the bug causes (2) catch it; a hang is not a verdict.
  if (mutated.exit === 1 || mutated.exit === 2)
    return {
      passed: true,
      verdict: "passed",
      detail: "the tests pass on the code and catch the planted bug",
    };
  return {
    passed: false,
    verdict: mutated.timedOut ? "timeout" : "not-caught",
    detail: mutated.timedOut
      ? `the tests ran past ${g.timeoutMs / 1000} s on the planted bug`
      : "the tests still pass with the planted bug",
  };
}
