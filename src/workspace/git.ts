import { CoderError } from "../errors.js";
import { runProgram } from "../sandbox/run-program.js";

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

/**
 * Runs git in `cwd`; `ok` lists the exit codes that are answers rather than failures (default: 0). A commit or
 * merge does not start git's automatic maintenance (one more git process each, with a task's slot or the merge
 * turn waiting on it): a job asks for it once, when its tasks are done (JobWorkspaces.dispose).
 */
export async function git(
  cwd: string,
  args: readonly string[],
  ok: readonly number[] = [0],
): Promise<GitResult> {
  const r = await runProgram(
    [
      "git",
      "-c",
      "core.hooksPath=/dev/null",
      "-c",
      "core.quotePath=false",
      "-c",
      "maintenance.auto=false",
      ...args,
    ],
    cwd,
    GIT_ENV,
  );
  if (ok.includes(r.code)) return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  throw new CoderError(
    "workspace",
    `git ${args.join(" ")} failed in ${cwd}: ${(r.stderr || (r.error ? `cannot start git: ${r.error}` : `exit ${r.code}`)).trim()}`,
  );
}

/** git's answer, trimmed. */
export async function gitOut(cwd: string, args: readonly string[]): Promise<string> {
  return (await git(cwd, args)).stdout.trim();
}
