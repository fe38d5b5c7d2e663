import { execFile } from "node:child_process";
import { CoderError } from "../errors.js";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Who commits a task's changes. */
export const TASK_AUTHOR = { name: "ollama-coder", email: "ollama-coder@localhost" };

/**
 * The server's own git: the repository's hooks never run (a task must not get code run outside its jail by
 * writing one), the user's and the system's configuration are not read, and nothing prompts.
 */
const GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: "/nonexistent",
  LANG: "C.UTF-8",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  GIT_AUTHOR_NAME: TASK_AUTHOR.name,
  GIT_AUTHOR_EMAIL: TASK_AUTHOR.email,
  GIT_COMMITTER_NAME: TASK_AUTHOR.name,
  GIT_COMMITTER_EMAIL: TASK_AUTHOR.email,
};

/** Runs git in `cwd`; `ok` lists the exit codes that are answers rather than failures (default: 0). */
export function git(cwd: string, args: readonly string[], ok: readonly number[] = [0]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      ["-c", "core.hooksPath=/dev/null", "-c", "core.quotePath=false", ...args],
      { cwd, env: GIT_ENV, maxBuffer: 256 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        if (ok.includes(code)) resolve({ code, stdout, stderr });
        else
          reject(
            new CoderError(
              "workspace",
              `git ${args.join(" ")} failed in ${cwd}: ${(stderr || error?.message || "").trim()}`,
            ),
          );
      },
    );
  });
}

/** git's answer, trimmed. */
export async function gitOut(cwd: string, args: readonly string[]): Promise<string> {
  return (await git(cwd, args)).stdout.trim();
}
