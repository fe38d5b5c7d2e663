import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { connectInMemory } from "../src/mcp/in-memory-client.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { CLI } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

function project() {
  const base = tempDir();
  const root = join(base, "project");
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "src", "app.py"), "print('hi')\n");
  writeFileSync(join(base, "secret.txt"), "secret");
  symlinkSync(base, join(root, "up"));
  return { base, root };
}

const text = (r: Record<string, unknown>) =>
  (r.content as { type: string; text: string }[]).map((c) => c.text).join("\n");

describe("MCP server (in-memory transport pair)", () => {
  it("offers the sandboxed tools and answers each", async () => {
    const { root } = project();
    const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
    const session = await connectInMemory(sandbox);
    const read = await session.call("read_file", { path: "src/app.py" });
    expect(read.isError).toBeFalsy();
    expect(text(read)).toBe("print('hi')\n");
    const write = await session.call("write_file", { path: "out/new.txt", content: "héllo" });
    expect(write.structuredContent).toEqual({ path: "out/new.txt", bytes: 6, created: true });
    const list = await session.call("list_directory", { path: "." });
    expect(text(list)).toBe("[dir] out\n[dir] src\n[link] up");
    const cmd = await session.call("run_command", { command: "cat src/app.py" });
    expect(cmd.structuredContent).toMatchObject({ exit_code: 0, stdout: "print('hi')\n" });
    const root_ = await session.call("sandbox_root", {});
    expect(root_.structuredContent).toMatchObject({ root: sandbox.root, jailed: false });
    await session.close();
  });

  it.each([
    ["read_file", { path: "../secret.txt" }, /SECURITY BLOCK: .*outside the project root/],
    ["read_file", { path: "up/secret.txt" }, /SECURITY BLOCK: .*symlink/],
    ["write_file", { path: "up/pwned.txt", content: "x" }, /SECURITY BLOCK/],
    ["list_files", { path: "../" }, /SECURITY BLOCK/],
    ["run_command", { command: "rm -rf /" }, /SECURITY BLOCK: .*rm -rf/],
    ["run_command", { command: "ls | sh" }, /shell operator '\|' is not allowed/],
    ["read_file", { path: "nope.txt" }, /no such file/],
  ])("%s %o is refused as an isError tool result", async (tool, args, message) => {
    const { root } = project();
    const session = await connectInMemory(new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" }));
    const r = await session.call(tool, args);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(message);
    await session.close();
  });
});

describe("MCP server over stdio (`ollama-coder mcp`, the SDK's client)", () => {
  it("lists tools, reads, writes and refuses like any MCP client would see", async () => {
    const { root } = project();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp", "--project-root", root, "--sandbox", "off"],
      stderr: "pipe",
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(transport);
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(tools).toEqual([
      "list_directory",
      "list_files",
      "read_file",
      "run_command",
      "sandbox_root",
      "write_file",
    ]);
    const read = await client.callTool({ name: "read_file", arguments: { path: "src/app.py" } });
    expect(text(read)).toBe("print('hi')\n");
    const write = await client.callTool({ name: "write_file", arguments: { path: "a/b.txt", content: "x" } });
    expect(write.isError).toBeFalsy();
    const bad = await client.callTool({ name: "read_file", arguments: { path: "/etc/passwd" } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^SECURITY BLOCK/);
    await client.close();
  });
});

describe("MCP server over stdio: oversized and invalid messages", () => {
  it("answers them with JSON-RPC errors and keeps serving (a 12 MiB message, 20 MiB, garbage)", async () => {
    const { root } = project();
    const child = spawn(process.execPath, [CLI, "mcp", "--project-root", root, "--sandbox", "off"], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const answers: Record<string, any>[] = [];
    const waiters: (() => void)[] = [];
    let buffer = "";
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        answers.push(JSON.parse(buffer.slice(0, i)));
        buffer = buffer.slice(i + 1);
        for (const w of waiters.splice(0)) w();
      }
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    void exited.then(() => {
      for (const w of waiters.splice(0)) w();
    });
    /** Sends one line and waits for the next answer. */
    const ask = async (line: string): Promise<Record<string, any>> => {
      const before = answers.length;
      child.stdin.write(`${line}\n`);
      while (answers.length <= before) {
        if (child.exitCode !== null)
          throw new Error(`the MCP server exited (${child.exitCode}) without an answer`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return answers[before] ?? {};
    };
    const init = await ask(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
      }),
    );
    expect(init.result.serverInfo.name).toBe("ollama-coder");
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    const call = (id: number, content: string) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "write_file", arguments: { path: "big.txt", content } },
      });
    const twelve = await ask(call(2, "x".repeat(12 * 1024 * 1024)));
    expect(twelve.id).toBe(2);
    expect(twelve.result.isError).toBe(true);
    expect(twelve.result.content[0].text).toMatch(/write limit/);
    const twenty = await ask(call(3, "y".repeat(20 * 1024 * 1024)));
    expect(twenty).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
    expect(twenty.error.message).toMatch(/larger than 16777216 bytes/);
    const garbage = await ask("this is not JSON");
    expect(garbage).toMatchObject({ id: null, error: { code: -32700 } });
    const notRpc = await ask(JSON.stringify({ id: 7, hello: "world" }));
    expect(notRpc).toMatchObject({ id: 7, error: { code: -32600 } });
    const list = await ask(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list" }));
    expect(list.id).toBe(4);
    expect(list.result.tools.length).toBeGreaterThan(4);
    const small = await ask(call(5, "fine"));
    expect(small.result.isError).toBeFalsy();
    expect(child.exitCode).toBeNull();
    child.stdin.end();
    await exited;
  }, 60_000);
});
