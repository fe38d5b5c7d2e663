import { parse } from "shell-quote";
import { CoderError } from "../errors.js";

/**
 * Parses a command string into argv the way a shell would split words and quotes, and refuses everything a
 * shell would do beyond that (pipes, lists, redirections, substitutions): commands run without a shell.
 * `$VARS` stay literal text; glob characters stay literal arguments.
 */
export function parseCommandLine(command: string): string[] {
  if (typeof command !== "string" || command.trim() === "")
    throw new CoderError("invalid_input", "empty command");
  if (command.includes("\0")) throw new CoderError("invalid_input", "command contains a NUL byte");
  if (/\$\(|`/.test(command.replace(/'[^']*'/g, ""))) {
    throw new CoderError(
      "invalid_input",
      "command substitution ($(…) or `…`) is not allowed: commands run without a shell",
    );
  }
  const argv: string[] = [];
  for (const entry of parse(command, (name) => `$${name}`)) {
    if (typeof entry === "string") {
      argv.push(entry);
      continue;
    }
    if ("op" in entry && entry.op === "glob") {
      argv.push((entry as { pattern: string }).pattern);
      continue;
    }
    if ("comment" in entry) break;
    const op = (entry as { op: string }).op;
    throw new CoderError(
      "invalid_input",
      `shell operator '${op}' is not allowed: commands run as one program without a shell (no pipes, ';', '&&', '||' or redirections)`,
    );
  }
  if (argv.length === 0) throw new CoderError("invalid_input", "empty command");
  return argv;
}

/** A path as one safe argument: never mistaken for an option. */
export function pathArgument(relativePath: string): string {
  return relativePath.startsWith("-") ? `./${relativePath}` : relativePath;
}
