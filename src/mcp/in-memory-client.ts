import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Sandbox } from "../sandbox/sandbox.js";
import { VERSION } from "../version.js";
import { createMcpServer } from "./mcp-server.js";

/**
 * What the client checks of an answer from our own server: that it is a tool result. The server side of the
 * SDK has already validated it against CallToolResultSchema; a second full (copying) parse is wasted work.
 */
const TRUSTED_RESULT = z.custom<CallToolResult>(
  (v) => typeof v === "object" && v !== null && Array.isArray((v as { content?: unknown }).content),
  "not a tool result",
);

/** An MCP client connected to our own server over an in-memory transport pair. */

export interface McpSession {
  call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult>;
  close(): Promise<void>;
}

export async function connectInMemory(sandbox: Sandbox): Promise<McpSession> {
  const server = createMcpServer(sandbox);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "ollama-coder-batch", version: VERSION });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return {
    async call(name, args, signal) {
      // The server is ours, in this process, and already builds well-formed results: a loose result schema
      // spares a second full validation of every answer. No SDK request timeout: commands carry their own.
      const params = { name, arguments: args };
      const options = { signal, timeout: 2 ** 31 - 1 };
      return (await client.request(
        { method: "tools/call", params },
        TRUSTED_RESULT,
        options,
      )) as CallToolResult;
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}
