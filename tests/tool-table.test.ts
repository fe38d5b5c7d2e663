import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterEach, describe, expect, it } from "vitest";
import { runAgentTask } from "../src/agent/agent-loop.js";
import { OllamaClient } from "../src/agent/ollama-client.js";
import { resolveRunConfig } from "../src/agent/run-config.js";
import { TOOL_TABLE } from "../src/agent/tool-table.js";
import { createMcpServer } from "../src/mcp/mcp-server.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { FakeOllama, type Reply } from "./fixtures/fake-ollama.js";
import { hasPytest } from "./helpers/requirements.js";
import { tempDir } from "./helpers/temp.js";

const CODER = "qwen2.5-coder:7b";

/** A project root with a workspace `ws` in it and a file outside the root. */
function project() {
  const base = tempDir();
  const root = join(base, "project");
  mkdirSync(join(root, "ws"), { recursive: true });
  writeFileSync(join(base, "secret.txt"), "secret");
  return new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
}

async function mcpClient(sandbox: Sandbox): Promise<Client> {
  const server = createMcpServer(sandbox);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "tool-table-test", version: "1.0.0" });
  await server.connect(serverSide);
  await client.connect(clientSide);
  return client;
}

const fakes: FakeOllama[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

/** Runs one agent task in `ws` against a fake Ollama whose coder gives `replies`; no reviewer. */
async function agentTask(sandbox: Sandbox, replies: Reply[], checkCommand = "true") {
  const ollama = new FakeOllama();
  fakes.push(ollama);
  await ollama.start();
  ollama.script(CODER, replies);
  const config = resolveRunConfig({
    check_command: checkCommand,
    reviewer_model: null,
    workspace: "ws",
    max_loops: 4,
  });
  const result = await runAgentTask("do it", config, {
    client: new OllamaClient({ urls: [ollama.url] }),
    sandbox,
    workspace: sandbox.workspace("ws"),
    signal: new AbortController().signal,
  });
  return { result, requests: ollama.requests };
}

describe("one tool table", () => {
  it("the MCP server lists exactly the table's MCP tools, with their descriptions and schemas", async () => {
    const client = await mcpClient(project());
    const { tools } = await client.listTools();
    const listed = tools.map(({ name, description, inputSchema }) => {
      const { $schema: _schema, ...schema } = inputSchema as Record<string, unknown>;
      return { name, description, inputSchema: schema };
    });
    const table = TOOL_TABLE.flatMap((t) =>
      t.mcp ? [{ name: t.name, description: t.mcp.description, inputSchema: t.mcp.parameters }] : [],
    );
    expect(table.map((t) => t.name)).toEqual([
      "read_file",
      "write_file",
      "list_files",
      "list_directory",
      "run_command",
      "sandbox_root",
    ]);
    expect(listed).toEqual(table);
    await client.close();
  });

  it("the agent offers Ollama exactly the table's coder tools", async () => {
    const { requests } = await agentTask(project(), [{ content: "nothing to do" }]);
    const table = TOOL_TABLE.flatMap((t) =>
      t.coder
        ? [
            {
              type: "function",
              function: { name: t.name, description: t.coder.description, parameters: t.coder.parameters },
            },
          ]
        : [],
    );
    expect(table.map((t) => t.function.name)).toEqual([
      "read_file",
      "write_file",
      "list_files",
      "run_command",
    ]);
    expect(requests[0]!.body.tools).toEqual(table);
  });

  it("a call runs the same sandbox operation from the agent and from MCP: same file, same refusal", async () => {
    const sandbox = project();
    const { result, requests } = await agentTask(sandbox, [
      { toolCalls: [{ name: "write_file", arguments: { path: "a.txt", content: "from the agent" } }] },
      { toolCalls: [{ name: "run_command", arguments: { command: "rm -rf /" } }] },
      { content: "done" },
    ]);
    expect(result).toMatchObject({ status: "completed", files_changed: ["ws/a.txt"] });
    const toolAnswers = requests[2]!.body.messages.filter((m) => m.role === "tool").map((m) => m.content);
    expect(toolAnswers[0]).toBe("wrote 14 bytes to a.txt");

    const client = await mcpClient(sandbox);
    const read = await client.callTool({ name: "read_file", arguments: { path: "ws/a.txt" } });
    expect(read.structuredContent).toMatchObject({ content: "from the agent", path: "ws/a.txt" });
    const refused = await client.callTool({ name: "run_command", arguments: { command: "rm -rf /" } });
    expect(refused.isError).toBe(true);
    const text = (refused.content as { text: string }[])[0]!.text;
    expect(text).toMatch(/^SECURITY BLOCK: .*rm -rf/);
    expect(toolAnswers[1]).toBe(text);
    await client.close();
  });
});

describe("check passed: one rule for the agent's check and the command processors", () => {
  it("an exit 5 from anything but pytest fails the agent's check", async () => {
    const { result } = await agentTask(project(), [{ content: "done" }], "python3 -c 'raise SystemExit(5)'");
    expect(result.check).toMatchObject({ passed: false, exit_code: 5 });
    expect(result.validator_ok).toBe(false);
  });

  it.runIf(hasPytest())("pytest's exit 5 (it collected no tests) passes the agent's check", async () => {
    const { result } = await agentTask(project(), [{ content: "done" }], "python3 -m pytest -q");
    expect(result.check).toMatchObject({ passed: true, exit_code: 5 });
    expect(result).toMatchObject({ status: "completed", validator_ok: true });
  });
});
