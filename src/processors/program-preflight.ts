import { CoderError } from "../errors.js";
import { parseCommandLine } from "../sandbox/command-line.js";
import type { Sandbox } from "../sandbox/sandbox.js";

/**
 * Before a job's first item: the program its command option names (the first word of `check_command`,
 * `test_command`) is looked up inside the jail the items' commands run in. A missing one fails the job at
 * once with how to fix it, instead of failing every item one by one. When the look-up cannot tell (commands
 * refused, no /bin/sh in the jail) the items run and report for themselves.
 */
export async function requireProgram(
  sandbox: Sandbox,
  option: string,
  command: string,
  o: { cwd?: string; signal?: AbortSignal } = {},
): Promise<void> {
  const program = parseCommandLine(command)[0];
  if (!program) return;
  const found = await sandbox.findProgram(program, o);
  if (found.found !== false) return;
  const where = sandbox.jailed ? "inside the jail commands run in" : "on the PATH commands run with";
  const install = program.includes("/")
    ? `make sure ${program} exists in the project and is executable`
    : `install ${program} where the server's PATH finds it${sandbox.jailed ? " (a directory outside the system and toolchain ones also needs --jail-read)" : ""}`;
  throw new CoderError(
    "not_found",
    `${option} program '${program}' not found ${where} (${option}: ${JSON.stringify(command)}); ` +
      `no item was run. Fix: ${install}, or set ${option} to a program that is installed`,
  );
}
