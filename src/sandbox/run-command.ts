import { spawn } from "node:child_process";
import { basename } from "node:path";
import { ConfigError, isAbortError } from "../errors.js";
import { OutputCapture } from "./output-capture.js";
import { removeCommandGroups } from "./pids-cgroup.js";
import { type LaunchEvents, type SpawnHelper, spawnHelperPath } from "./spawn-helper.js";

export interface RunOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  env: NodeJS.ProcessEnv;
  /** Bytes kept from the start and from the end of each stream. */
  outputCap: number;
  /** argv prefix that jails the command (bubblewrap), or none. */
  jailPrefix?: readonly string[] | undefined;
  /** Built-in jail spec strings (native/jail.h): the command is confined before it executes (or, with
   * bubblewrap, limited). */
  jail?: readonly string[] | undefined;
  /** Whether a jail confines the command (reported in the result). */
  jailed?: boolean;
  /** How long after SIGTERM the process group gets SIGKILL. */
  killGraceMs?: number;
  /** Starts commands; Node's spawn when absent or dead. */
  helper?: SpawnHelper | null | undefined;
}

export interface RunResult {
  argv: string[];
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timed_out: boolean;
  cancelled: boolean;
  duration_seconds: number;
  jailed: boolean;
  /** Set when the program could not start (not found, not executable). */
  spawn_error?: string;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone */
  }
}

/** How long the output pipes may stay open after the program exited (as in native/oc-spawner.c). */
const DRAIN_MS = 2000;

/** Starts argv with Node's own spawn, in a new process group (the fallback where oc-spawner is not built). */
function launchWithNode(
  argv: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  ev: LaunchEvents,
): void {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  });
  if (child.pid !== undefined) ev.onStart(child.pid);
  child.stdout.on("data", (d: Buffer) => ev.onStdout(d));
  child.stderr.on("data", (d: Buffer) => ev.onStderr(d));
  let error: string | undefined;
  child.on("error", (e: NodeJS.ErrnoException) => {
    if (!isAbortError(e)) error = e.code ?? e.message;
  });
  // The program is gone: whatever it left running in its group (and holding our pipes) goes too; something
  // that left the group (setsid) and still holds them does not hold the command's end for more than a moment.
  let drain: NodeJS.Timeout | null = null;
  child.on("exit", () => {
    if (child.pid !== undefined) killGroup(child.pid, "SIGKILL");
    drain = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    }, DRAIN_MS);
  });
  child.on("close", (code, sig) => {
    if (drain) clearTimeout(drain);
    ev.onEnd(error ? null : code, sig, error);
  });
}

/**
 * argv for Node's spawn: with a jail, oc-spawner confines itself and then executes the command
 * (`oc-spawner --jail SPEC... -- argv`).
 */
function nodeArgv(argv: readonly string[], jail: readonly string[] | undefined): string[] {
  if (!jail?.length) return [...argv];
  const helper = spawnHelperPath();
  if (!helper) throw new ConfigError("the built-in jail needs oc-spawner, which is not built");
  return [helper, "--jail", ...jail, "--", ...argv];
}

/** What `oc-spawner --jail` says on stderr (exit 126/127) when the command it was to execute cannot start. */
const WRAPPED_START_ERROR = /^oc-spawner: (.*): (No such file or directory|Permission denied)\n?$/;

function spawnErrorText(error: string, program: string): string {
  if (error === "ENOENT") return `command not found: ${basename(program)}`;
  if (error === "EACCES") return `permission denied: ${program}`;
  if (error === "ESPAWNER") return "the command spawner exited before the command ended";
  return `cannot start ${program}: ${error}`;
}

/**
 * Runs argv without a shell in its own process group, with a time limit, a minimal environment and capped
 * output. On timeout or abort the whole group gets SIGTERM, then SIGKILL after a grace period; when the
 * program exits, anything it left running in its group is killed too (no orphans). Commands start through
 * `helper` (oc-spawner) when one is given and alive, else with Node's spawn.
 */
export function runCommand(argv: readonly string[], o: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const full = o.jailPrefix ? ["bwrap", ...o.jailPrefix, ...argv] : [...argv];
  const stdout = new OutputCapture(o.outputCap);
  const stderr = new OutputCapture(o.outputCap);
  const killGraceMs = o.killGraceMs ?? 2000;
  return new Promise((resolve) => {
    const base = {
      argv: [...argv],
      truncated: false,
      timed_out: false,
      cancelled: false,
      jailed: o.jailed ?? o.jailPrefix !== undefined,
    };
    if (o.signal?.aborted) {
      resolve({
        ...base,
        exit_code: null,
        signal: null,
        stdout: "",
        stderr: "",
        cancelled: true,
        duration_seconds: 0,
      });
      return;
    }
    let pid: number | undefined;
    let stopping = false;
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | null = null;
    const stop = () => {
      stopping = true;
      if (pid === undefined) return; // killed as soon as it has started
      const group = pid;
      killGroup(group, "SIGTERM");
      killTimer ??= setTimeout(() => killGroup(group, "SIGKILL"), killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    const events: LaunchEvents = {
      onStart(p) {
        pid = p;
        if (stopping) stop();
      },
      onStdout: (d) => stdout.push(d),
      onStderr: (d) => stderr.push(d),
      onEnd(code, sig, error) {
        if (error === "ESPAWNER" && pid === undefined && !stopping) {
          // The helper went away before it started the program: nothing ran, so start it here instead.
          wrapped = Boolean(o.jail?.length);
          launchWithNode(nodeArgv(full, o.jail), o.cwd, o.env, events);
          return;
        }
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        o.signal?.removeEventListener("abort", onAbort);
        const result: RunResult = {
          ...base,
          exit_code: code,
          signal: sig,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          timed_out: timedOut,
          cancelled,
          duration_seconds: Math.round(performance.now() - started) / 1000,
        };
        if (error !== undefined) result.spawn_error = spawnErrorText(error, full[0]!);
        else if (wrapped && (code === 126 || code === 127)) {
          const m = WRAPPED_START_ERROR.exec(result.stderr);
          if (m) {
            result.spawn_error = spawnErrorText(m[2]!.startsWith("No") ? "ENOENT" : "EACCES", full[0]!);
            result.exit_code = null;
            result.stderr = "";
          }
        }
        if (wrapped && pid !== undefined) {
          const groups = (o.jail ?? []).filter((x) => x.startsWith("cg:")).map((x) => x.slice(3));
          if (groups.length > 0) removeCommandGroups(groups, pid);
        }
        resolve(result);
      },
    };
    let wrapped = false;
    if (o.helper?.alive) o.helper.launch(full, o.cwd, o.env, events, o.jail);
    else {
      wrapped = Boolean(o.jail?.length);
      launchWithNode(nodeArgv(full, o.jail), o.cwd, o.env, events);
    }
  });
}

/** Default time limit of a command operation or tool call, in seconds. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 60;

/** A run as text for a model or a person: how it ended, then its output. */
export function describeRun(run: RunResult): string {
  const parts = [
    run.timed_out
      ? "timed out"
      : run.exit_code === null
        ? `killed by ${run.signal ?? "signal"}`
        : `exit code ${run.exit_code}`,
  ];
  if (run.stdout) parts.push(`--- stdout ---\n${run.stdout}`);
  if (run.stderr) parts.push(`--- stderr ---\n${run.stderr}`);
  return parts.join("\n");
}
