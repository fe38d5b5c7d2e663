import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { failureOfMessage } from "../domain/failure.js";
import type { ItemResult } from "../domain/item-result.js";
import type { JsonObject } from "../domain/json.js";
import type { McpSession } from "../mcp/in-memory-client.js";
import type { Processor } from "../queue/processor.js";
import { cacheTtlOf } from "../queue/result-cache.js";
import { contentHash } from "../sandbox/content-hash.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";

const TOOL_OF = {
  read: "read_file",
  write: "write_file",
  list: "list_files",
  command: "run_command",
} as const;

function text(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

/** What each operation's `result` holds: file text; entries; bytes written; exit code and output. */
function operationResult(type: string, r: CallToolResult): JsonObject {
  const s = (r.structuredContent ?? {}) as JsonObject;
  switch (type) {
    case "read":
      return { content: s.content, bytes: s.bytes, path: s.path };
    case "list":
      return { entries: s.entries, path: s.path, truncated: s.truncated };
    case "write":
      return { bytes_written: s.bytes, path: s.path, created: s.created };
    default:
      return {
        exit_code: s.exit_code,
        signal: s.signal ?? null,
        stdout: s.stdout,
        stderr: s.stderr,
        duration_seconds: s.duration_seconds,
        timed_out: s.timed_out,
        truncated: s.truncated,
      };
  }
}

/**
 * `batch_mcp`: each operation is a tool call through an MCP client connected (in memory) to the same MCP
 * server `ollama-coder mcp` serves, so batch operations and MCP clients share one sandbox and guardrail.
 */
export function mcpProcessor(sandbox: Sandbox): Processor {
  return {
    validateItem: (item, _index, options) =>
      cacheTtlOf(options) !== null && (item.type === "write" || item.type === "command")
        ? [
            {
              loc: ["type"],
              msg: `cache: true answers read operations from earlier results; a '${String(item.type)}' operation changes files or runs a command, which a cached answer would skip: submit it in a job without cache`,
              type: "value_error.cache",
            },
          ]
        : [],
    // A read's key: the file and what it holds. A list runs every time (its answer depends on every entry).
    async cacheKey(item) {
      if (item.type !== "read" || typeof item.path !== "string") return null;
      const sha256 = await contentHash(sandbox.paths, item.path);
      if (sha256 === null) return null;
      return { type: "read", path: sandbox.paths.relative(sandbox.paths.resolve(item.path)), sha256 };
    },
    // The MCP SDK loads with the first MCP job, not at start-up.
    prepareJob: async () => (await import("../mcp/in-memory-client.js")).connectInMemory(sandbox),
    disposeJob: async (_job, session) => (session as McpSession).close(),
    async processItem(item, ctx): Promise<ItemResult> {
      const session = ctx.session as McpSession;
      const type = String(item.type) as keyof typeof TOOL_OF;
      const tool = TOOL_OF[type];
      if (!tool)
        return {
          status: "failed",
          failure: "invalid",
          error: `unknown operation type '${String(item.type)}'`,
        };
      const args: Record<string, unknown> =
        type === "command"
          ? {
              command: item.command,
              timeout_seconds: Number(
                item.timeout_seconds ?? ctx.job.options.timeout_seconds ?? DEFAULT_COMMAND_TIMEOUT_SECONDS,
              ),
            }
          : type === "write"
            ? { path: item.path, content: item.content }
            : { path: item.path };
      // Only a command runs long enough to be worth cancelling mid-call (a cancelled job stops taking items
      // anyway); file operations take microseconds and skip the per-call signal and its listener.
      const r = await session.call(tool, args, type === "command" ? ctx.signal : undefined);
      if (r.isError) {
        const error = text(r);
        return { status: "failed", failure: failureOfMessage(error), error };
      }
      const result = operationResult(type, r);
      if (type === "command" && result.exit_code !== 0) {
        return {
          status: "failed",
          failure: result.timed_out === true ? "timeout" : "check",
          error:
            result.exit_code === null
              ? `command killed by ${String(result.signal ?? "a signal")}`
              : `command exited with ${String(result.exit_code)}`,
          fields: { result },
        };
      }
      return { status: "succeeded", fields: { result } };
    },
  };
}
