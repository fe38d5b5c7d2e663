import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { VERSION } from "../version.js";
import { createMcpServer } from "./mcp-server.js";

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
      // No request timeout of the SDK's own: commands carry their own time limit.
      return (await client.callTool({ name, arguments: args }, undefined, {
        signal,
        timeout: 2 ** 31 - 1,
      })) as CallToolResult;
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}
