import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach } from "vitest";

export const CLI = join(import.meta.dirname, "..", "..", "dist", "cli.js");
export const TEST_PLUGIN = join(import.meta.dirname, "..", "fixtures", "sleep-plugin.mjs");

/** `serve` on a free port with its data and project under `dir` and the test plugin loaded. */
export function serveArgs(dir: string, ...extra: string[]): string[] {
  mkdirSync(join(dir, "project"), { recursive: true }); // a --project-root named by hand must exist
  return [
    "serve",
    "--port",
    "0",
    "--data-dir",
    join(dir, "data"),
    "--project-root",
    join(dir, "project"),
    "--plugin",
    TEST_PLUGIN,
    // Tests write jobs that ended in 1970 (helpers/ended-job.ts): no retention sweep unless a test asks.
    "--retention-days",
    "0",
    ...extra,
  ];
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

const children: ChildProcess[] = [];

/** Starts `node dist/cli.js <args>` and waits for its "listening on" (or worker "ready") line. */
export function startServerProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cli: string = CLI,
  /** In a process group of its own (so that a test can signal the whole group, as a terminal does). */
  detached = false,
  /** Runs the command through another, e.g. in a network namespace (helpers/netns.ts: NetLab.command). */
  wrap?: (program: string, args: string[]) => [string, string[]],
): Promise<ServerProcess> {
  const [program, argv] = wrap ? wrap(process.execPath, [cli, ...args]) : [process.execPath, [cli, ...args]];
  const child = spawn(program, argv, {
    detached,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], output: () => out, exited });
      else if (/worker ready/.test(out)) resolve({ child, url: "", output: () => out, exited });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    void exited.then((code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, input });
}

/** Runs a program to its end (killed after the test if it is still running), with what it printed. */
export function runToEnd(
  cmd: string,
  args: string[],
  o: { env?: NodeJS.ProcessEnv; input?: string | undefined; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: "pipe", cwd: o.cwd });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(o.input ?? "");
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
