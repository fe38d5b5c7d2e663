import type { Command } from "commander";
import { checkProjectRoot } from "../config/project-root.js";
import { resolveServerConfig, withEnv } from "../config/server-config.js";
import { sandboxFromConfig } from "../processors/builtin.js";
import { withSandboxOptions } from "./sandbox-options.js";

/** `mcp`: the sandboxed file and command tools as an MCP server on stdio, for any MCP client. */
export function addMcpCommand(program: Command): void {
  withSandboxOptions(program.command("mcp"))
    .description("serve read_file, write_file, list_files, run_command and sandbox_root over MCP on stdio")
    .option("--project-root <dir>", "sandbox root (env OLLAMA_CODER_PROJECT_ROOT)")
    .option("--data-dir <dir>", "kept hidden from commands (env OLLAMA_CODER_DATA_DIR)")
    .option("--deny <programs...>", "more programs the guardrail refuses")
    .option("--allow <programs...>", "the only programs commands may run")
    .option("--read-only", "refuse every write and command")
    .option("--output-cap-kb <kb>", "KiB kept from the head and the tail of command output")
    .action(async (flags: Record<string, string | string[] | boolean | undefined>) => {
      const input = withEnv(flags);
      checkProjectRoot(input);
      const config = resolveServerConfig(input);
      const sandbox = sandboxFromConfig(config);
      // stdout carries the protocol: every human word goes to stderr.
      console.error(`ollama-coder mcp: root ${sandbox.root}; ${sandbox.jailNote}`);
      const { BoundedStdioTransport } = await import("../mcp/stdio-transport.js");
      const { createMcpServer } = await import("../mcp/mcp-server.js");
      const server = createMcpServer(sandbox);
      await server.connect(new BoundedStdioTransport());
      const close = () => {
        void server.close().finally(() => process.exit(0));
      };
      process.on("SIGINT", close);
      process.on("SIGTERM", close);
      process.stdin.on("end", close);
    });
}
