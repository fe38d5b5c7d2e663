import { basename } from "node:path";
import type { RunResult } from "./run-command.js";

/** Whether `argv` runs pytest (`pytest`, `py.test`, `python -m pytest`). */
export function isPytest(argv: readonly string[]): boolean {
  const name = basename(argv[0] ?? "");
  if (/^py\.?test/.test(name)) return true;
  return /^python[\d.]*$/.test(name) && argv[1] === "-m" && argv[2] === "pytest";
}

/**
 * Whether a check command passed: exit 0, or pytest's exit 5 (it collected no tests), which the Python server this one replaces counted
 * as a pass.
 */
export function checkPassed(run: Pick<RunResult, "exit_code" | "argv">): boolean {
  return run.exit_code === 0 || (run.exit_code === 5 && isPytest(run.argv));
}
