import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { checkProjectRoot } from "../config/project-root.js";
import { resolveServerConfig, SERVER_DEFAULTS, withEnv } from "../config/server-config.js";
import { SANDBOX_MODES } from "../sandbox/jail.js";
import { run } from "./client-context.js";
import { EXIT } from "./exit-codes.js";

/** The built `cli.js` this process runs from (dist/cli.js of a clone, or of an installed package). */
export const CLI_PATH = join(dirname(fileURLToPath(import.meta.url)), "..", "cli.js");

export interface McpConfigFlags {
  projectRoot?: string;
  name: string;
  readOnly?: boolean;
  sandbox?: string;
}

/** The `mcpServers` block an MCP client (Claude Desktop, Cursor, …) takes, with absolute paths only. */
export function mcpConfig(flags: McpConfigFlags, env: NodeJS.ProcessEnv = process.env): object {
  const root = resolve(flags.projectRoot ?? env.OLLAMA_CODER_PROJECT_ROOT ?? SERVER_DEFAULTS.projectRoot);
  const args = [CLI_PATH, "mcp", "--project-root", root];
  if (flags.sandbox) args.push("--sandbox", flags.sandbox);
  if (flags.readOnly) args.push("--read-only");
  return { mcpServers: { [flags.name]: { command: process.execPath, args } } };
}

/** `mcp-config`: prints a ready-to-paste MCP client configuration that starts `mcp` from this build. */
export function addMcpConfigCommand(program: Command): void {
  program
    .command("mcp-config")
    .description(
      "print the JSON an MCP client (Claude Desktop's claude_desktop_config.json, …) needs to start `ollama-coder mcp` from this build, with absolute paths",
    )
    .option("--project-root <dir>", "the root the tools work in (env OLLAMA_CODER_PROJECT_ROOT)")
    .option("--name <name>", "the server's name in the client", "ollama-coder")
    .option("--sandbox <mode>", SANDBOX_MODES.join("|"))
    .option("--read-only", "refuse every write and command")
    .action((flags: McpConfigFlags) =>
      run(async () => {
        // What `mcp` would refuse at start is refused here, before it is pasted into a client.
        const input = withEnv({
          projectRoot: flags.projectRoot,
          sandbox: flags.sandbox,
          readOnly: flags.readOnly,
        });
        checkProjectRoot(input);
        resolveServerConfig(input);
        console.log(JSON.stringify(mcpConfig(flags), null, 2));
        return EXIT.completed;
      }),
    );
}
