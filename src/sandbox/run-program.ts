import { execFile } from "node:child_process";
import { sharedSpawnHelper } from "./spawn-helper.js";

/** How one of the server's own programs (git, mount) ended, with all it printed. */
export interface ProgramResult {
  /** The exit code; -1 when the program was killed by a signal or could not start. */
  code: number;
  stdout: string;
  stderr: string;
  /** Why it could not start (an errno code such as ENOENT), if it never ran. */
  error?: string;
}

/**
 * Runs one of the server's own programs (not a task's: no jail, no time limit, no output cap) to its end. It
 * starts through oc-spawner where that is built, so that the server's short, frequent git and mount calls cost
 * a posix_spawn each instead of a fork of the whole server (a few milliseconds of CPU each on a small VM,
 * which a task's workspace spends about ten times); else through Node's execFile.
 */
export function runProgram(
  argv: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<ProgramResult> {
  const helper = sharedSpawnHelper();
  if (!helper) return viaNode(argv, cwd, env);
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    helper.launch(argv, cwd, env, {
      onStart: () => {},
      onStdout: (d) => out.push(d),
      onStderr: (d) => err.push(d),
      onEnd: (code, _signal, error) =>
        resolve({
          code: code ?? -1,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
          ...(error ? { error } : {}),
        }),
    });
  });
}

function viaNode(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ProgramResult> {
  return new Promise((resolve) => {
    execFile(
      argv[0] as string,
      argv.slice(1),
      { cwd, env, maxBuffer: 1024 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        const startError = error && typeof error.code === "string" ? error.code : undefined;
        resolve({ code, stdout, stderr, ...(startError ? { error: startError } : {}) });
      },
    );
  });
}
