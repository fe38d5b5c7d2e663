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
