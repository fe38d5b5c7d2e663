import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { errorMessage } from "../errors.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS, describeRun } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { VERSION } from "../version.js";

function ok(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/** A refusal or failure as a tool result the model (or client) can read. */
function refused(e: unknown): CallToolResult {
  return { content: [{ type: "text", text: errorMessage(e) }], isError: true };
}

async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (e: unknown) {
    return refused(e);
  }
}

/**
 * An MCP server whose tools all go through the sandbox: read_file, write_file, list_files (also
 * list_directory), run_command and sandbox_root. Refusals are tool results with `isError: true`.
 */
export function createMcpServer(sandbox: Sandbox): McpServer {
  const server = new McpServer({ name: "ollama-coder", version: VERSION });
  const path = z.string().describe("Path relative to the project root (absolute paths must be inside it)");

  server.registerTool(
    "read_file",
    { description: "Read a UTF-8 text file inside the project root.", inputSchema: { path } },
    ({ path: p }) =>
      guarded(async () => {
        const r = await sandbox.files.read(p);
        return ok(r.content, r);
      }),
  );

  server.registerTool(
    "write_file",
    {
      description: "Write a UTF-8 text file inside the project root (atomic; creates parent directories).",
      inputSchema: { path, content: z.string().describe("The whole new content") },
    },
    ({ path: p, content }) =>
      guarded(async () => {
        const r = await sandbox.files.write(p, content);
        return ok(`wrote ${r.bytes} bytes to ${r.path}`, r);
      }),
  );

  const listConfig = {
    description: "List a directory inside the project root: each entry with its kind and size.",
    inputSchema: { path: path.default(".") },
  };
  const list = ({ path: p }: { path: string }) =>
    guarded(async () => {
      const r = await sandbox.files.list(p);
      const lines = r.entries.map(
        (e) => `${e.kind === "directory" ? "[dir] " : e.kind === "symlink" ? "[link] " : ""}${e.name}`,
      );
      if (r.truncated) lines.push("… (more entries not shown)");
      return ok(lines.join("\n") || "(empty directory)", r);
    });
  server.registerTool("list_files", listConfig, list);
  server.registerTool(
    "list_directory",
    { ...listConfig, description: `${listConfig.description} (alias of list_files)` },
    list,
  );

  server.registerTool(
    "run_command",
    {
      description:
        "Run one program in the project root, without a shell (no pipes, ';' or redirections), with a time limit. " +
        "Destructive commands are refused.",
      inputSchema: {
        command: z.string().describe("e.g. 'pytest -q tests/test_app.py'"),
        timeout_seconds: z.number().positive().max(86_400).optional(),
        cwd: z.string().optional().describe("Directory inside the project root"),
      },
    },
    ({ command, timeout_seconds, cwd }, extra) =>
      guarded(async () => {
        const run = await sandbox.run({
          command,
          cwd,
          timeoutMs: (timeout_seconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS) * 1000,
          signal: extra.signal,
        });
        if (run.spawn_error) return refused(run.spawn_error);
        const result = ok(describeRun(run), { ...run });
        if (run.timed_out) result.isError = true;
        return result;
      }),
  );

  server.registerTool(
    "sandbox_root",
    {
      description: "The project root every path is relative to, and whether commands are jailed.",
      inputSchema: {},
    },
    async () =>
      ok(sandbox.root, {
        root: sandbox.root,
        jailed: sandbox.jailed,
        read_only: sandbox.guardrail.options.readOnly,
      }),
  );
  return server;
}
