import { existsSync } from "node:fs";
import { type FailureReason, failureOfMessage } from "../domain/failure.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import { CoderError, errorMessage, type FieldIssue } from "../errors.js";
import type { Processor } from "../queue/processor.js";
import { checkPassed } from "../sandbox/check-passed.js";
import { parseCommandLine, pathArgument } from "../sandbox/command-line.js";
import { contentHash } from "../sandbox/content-hash.js";
import type { RunResult } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { requireProgram } from "./program-preflight.js";

/** A 422 at submit for a command that can never run (operators, substitutions). */
export function checkCommandOption(options: JsonObject, field: string): FieldIssue[] {
  const command = options[field];
  if (typeof command !== "string") return [];
  try {
    parseCommandLine(command);
    return [];
  } catch (e: unknown) {
    return [{ loc: [field], msg: errorMessage(e), type: "value_error.command" }];
  }
}

export function timeoutMs(item: JsonObject, options: JsonObject, fallbackSeconds: number): number {
  const seconds = Number(item.timeout_seconds ?? options.timeout_seconds ?? fallbackSeconds);
  return Math.max(
    1,
    Math.round((Number.isFinite(seconds) && seconds > 0 ? seconds : fallbackSeconds) * 1000),
  );
}

export interface CheckRun {
  status: "passed" | "failed";
  /** Why it failed (null when it passed). */
  failure: FailureReason | null;
  run: RunResult;
  error: string | null;
}

/** An item's target inside the root, or null when nothing is there (the item fails without running). */
export function existingTarget(sandbox: Sandbox, path: unknown): string | null {
  if (typeof path !== "string") throw new CoderError("invalid_input", "item has no path");
  const target = sandbox.paths.resolve(path);
  return existsSync(target) ? target : null;
}

/** A target that is not there: a failed item, and nothing run. */
export function targetNotFound(path: unknown): ItemResult {
  return {
    status: "failed",
    failure: "not_found",
    error: `target not found: ${String(path)} (nothing was run)`,
  };
}

/** Runs `<command> <target>` in the sandbox: the target appended as one argument, never a shell. */
export async function runCheck(
  sandbox: Sandbox,
  command: string,
  target: string,
  ms: number,
  signal: AbortSignal,
): Promise<CheckRun> {
  const run = await sandbox.run({
    command,
    extraArgs: [pathArgument(sandbox.paths.relative(target))],
    timeoutMs: ms,
    signal,
  });
  const failed = (failure: FailureReason, error: string): CheckRun => ({
    status: "failed",
    failure,
    run,
    error,
  });
  if (run.spawn_error) return failed(failureOfMessage(run.spawn_error), run.spawn_error);
  if (run.timed_out) return failed("timeout", `timed out after ${ms / 1000} s`);
  if (run.cancelled) return failed("error", "cancelled"); // the runner records the item as cancelled
  if (checkPassed(run)) return { status: "passed", failure: null, run, error: null };
  const how = run.exit_code === null ? `killed by ${run.signal}` : `exit ${run.exit_code}`;
  return failed("check", `check failed (${how})`);
}

/** The fields every command result carries. */
export function commandFields(run: RunResult): JsonObject {
  const fields: JsonObject = {
    command: run.argv.join(" "),
    exit_code: run.exit_code,
    stdout: run.stdout,
    stderr: run.stderr,
    duration_seconds: run.duration_seconds,
  };
  if (run.truncated) fields.truncated = true;
  if (run.timed_out) fields.timed_out = true;
  if (run.signal) fields.signal = run.signal;
  return fields;
}

export function checkResult(check: CheckRun, extra: JsonObject = {}): ItemResult {
  const fields = { ...commandFields(check.run), ...extra };
  if (check.status === "passed") return { status: "succeeded", error: null, fields };
  return { status: "failed", failure: check.failure ?? "error", error: check.error, fields };
}

/**
 * A processor that runs `<command option> <item path>` in the sandbox (validation, tests): the command is
 * checked at submit, each run gets the item's or job's timeout, and `finish` turns the run into the result.
 */
export function commandCheckProcessor(
  sandbox: Sandbox,
  o: { option: string; defaultCommand: string; finish: (check: CheckRun) => ItemResult },
): Processor {
  return {
    validateOptions: (options) => checkCommandOption(options, o.option),
    async prepareJob(job, signal) {
      await requireProgram(sandbox, o.option, String(job.options[o.option] ?? o.defaultCommand), { signal });
    },
    async processItem(item, ctx) {
      const command = String(ctx.job.options[o.option] ?? o.defaultCommand);
      const target = existingTarget(sandbox, item.path);
      if (target === null) return targetNotFound(item.path);
      const ms = timeoutMs(item, ctx.job.options, 300);
      return o.finish(await runCheck(sandbox, command, target, ms, ctx.signal));
    },
    // The command and time limit the item runs with, its target, and what the target holds.
    async cacheKey(item, ctx) {
      if (typeof item.path !== "string") return null;
      const sha256 = await contentHash(sandbox.paths, item.path);
      if (sha256 === null) return null;
      return {
        command: String(ctx.job.options[o.option] ?? o.defaultCommand),
        timeout_ms: timeoutMs(item, ctx.job.options, 300),
        path: sandbox.paths.relative(sandbox.paths.resolve(item.path)),
        sha256,
      };
    },
  };
}
