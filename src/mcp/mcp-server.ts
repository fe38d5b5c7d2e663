import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { callTool, type ParameterSchema, TOOL_TABLE, type ToolAnswer } from "../agent/tool-table.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { VERSION } from "../version.js";

/** A tool answer as MCP carries it; a refusal or failure is a result with `isError: true`. */
function toolResult(a: ToolAnswer): CallToolResult {
  return {
    content: [{ type: "text", text: a.text }],
    ...(a.structured ? { structuredContent: a.structured } : {}),
    ...(a.isError ? { isError: true } : {}),
  };
}

/** The table's parameters as the SDK takes them: one schema a parameter, optional unless required. */
function inputShape(parameters: ParameterSchema): z.ZodRawShape {
  const required = new Set(parameters.required ?? []);
  return Object.fromEntries(
    Object.entries(parameters.properties).map(([name, schema]) => {
      const parameter = z.fromJSONSchema(schema);
      return [name, required.has(name) || "default" in schema ? parameter : parameter.optional()];
    }),
  );
}

/**
 * An MCP server offering the tool table's MCP tools, all through the sandbox: read_file, write_file, list_files
 * (also list_directory), run_command and sandbox_root. Refusals are tool results with `isError: true`.
 */
export function createMcpServer(sandbox: Sandbox): McpServer {
  const server = new McpServer({ name: "ollama-coder", version: VERSION });
  const context = { sandbox, timeoutMs: DEFAULT_COMMAND_TIMEOUT_SECONDS * 1000 };
  for (const tool of TOOL_TABLE) {
    const face = tool.mcp;
    if (!face) continue;
    const inputSchema = inputShape(face.parameters);
    server.registerTool(tool.name, { description: face.description, inputSchema }, async (args, extra) =>
      toolResult(await callTool(tool, face, args, { ...context, signal: extra.signal })),
    );
  }
  return server;
}
