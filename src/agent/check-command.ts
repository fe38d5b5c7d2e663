import { checkPassed } from "../sandbox/check-passed.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { RunConfig } from "./run-config.js";
import type { CheckOutcome } from "./task-result.js";
import { cap } from "./transcript.js";

/** Runs the task's check command in its workspace: passed or not, its exit code and capped output. */
export async function runCheckCommand(
  sandbox: Sandbox,
  workspace: string,
  config: RunConfig,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const run = await sandbox.run({
    command: config.checkCommand,
    cwd: workspace,
    timeoutMs: config.checkTimeoutMs,
    signal,
  });
  const output = cap(
    [run.spawn_error, run.stdout, run.stderr].filter(Boolean).join("\n").trim(),
    config.outputCapBytes,
  );
  return {
    command: config.checkCommand,
    passed: checkPassed(run),
    exit_code: run.exit_code,
    output,
    duration_seconds: run.duration_seconds,
  };
}
