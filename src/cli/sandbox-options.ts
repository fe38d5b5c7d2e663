import type { Command } from "commander";
import { SANDBOX_MODES } from "../sandbox/jail.js";

/** The jail's flags, the same on every command that runs commands (serve, run, mcp). */
export function withSandboxOptions(command: Command): Command {
  return command
    .option(
      "--sandbox <mode>",
      `${SANDBOX_MODES.join("|")}: jail commands with bubblewrap, else the built-in jail, else refuse them; off runs them unjailed (env OLLAMA_CODER_SANDBOX)`,
    )
    .option(
      "--limits <list>",
      "per-command limits, e.g. memory=8g,processes=1024,file-size=4g,cpu=3600,open-files=4096 (env OLLAMA_CODER_LIMITS)",
    )
    .option(
      "--jail-read <paths...>",
      "more paths jailed commands may read, besides the system and the toolchains on PATH (env OLLAMA_CODER_JAIL_READ)",
    )
    .option(
      "--workspaces-dir <dir>",
      "where agent tasks get workspaces of their own, outside the project (default <data-dir>/workspaces; env OLLAMA_CODER_WORKSPACES_DIR)",
    );
}
