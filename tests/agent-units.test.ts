import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HostPool } from "../src/agent/host-pool.js";
import { OllamaClient } from "../src/agent/ollama-client.js";
import { parseToolCalls } from "../src/agent/tool-call-parser.js";
import { FakeOllama, toolResults } from "./fixtures/fake-ollama.js";
import { runCli } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

const TOOLS = ["read_file", "write_file", "list_files", "run_command"];

describe("tool-call parsing", () => {
  it.each([
    [
      "native",
      "",
      [{ function: { name: "read_file", arguments: { path: "a" } } }],
      [{ name: "read_file", arguments: { path: "a" } }],
    ],
    [
      "fenced json",
      'Sure:\n```json\n{"name": "read_file", "arguments": {"path": "a"}}\n```',
      [],
      [{ name: "read_file", arguments: { path: "a" } }],
    ],
    [
      "fenced without language",
      '```\n{"name": "list_files", "arguments": {}}\n```',
      [],
      [{ name: "list_files", arguments: {} }],
    ],
    [
      "bare object",
      '{"name": "read_file", "arguments": {"path": "a"}}',
      [],
      [{ name: "read_file", arguments: { path: "a" } }],
    ],
    [
      "bare array",
      '[{"name": "read_file", "arguments": {"path": "a"}}, {"name": "read_file", "parameters": {"path": "b"}}]',
      [],
      [
        { name: "read_file", arguments: { path: "a" } },
        { name: "read_file", arguments: { path: "b" } },
      ],
    ],
    [
      "tool_call tags",
      '<tool_call>\n{"name": "run_command", "args": {"command": "ls"}}\n</tool_call>',
      [],
      [{ name: "run_command", arguments: { command: "ls" } }],
    ],
    [
      "function shape",
      '{"function": {"name": "read_file", "arguments": "{\\"path\\": \\"x\\"}"}}',
      [],
      [{ name: "read_file", arguments: { path: "x" } }],
    ],
    [
      "text around a bare object",
      'I will read it. {"name": "read_file", "arguments": {"path": "a {b}"}} Then done.',
      [],
      [{ name: "read_file", arguments: { path: "a {b}" } }],
    ],
  ])("%s", (_n, content, native, calls) => {
    const r = parseToolCalls(content, native as never, TOOLS);
    expect(r.problem).toBeNull();
    expect(r.calls).toEqual(calls);
  });

  it("plain prose or unrelated JSON is no call at all", () => {
    expect(parseToolCalls("All done, the file prints Hello.", [], TOOLS)).toEqual({
      calls: [],
      problem: null,
      fromText: false,
    });
    expect(parseToolCalls('The config is {"port": 80}.', [], TOOLS).calls).toEqual([]);
  });

  it("names unknown tools and broken JSON as problems", () => {
    expect(parseToolCalls('{"name": "rm_everything", "arguments": {}}', [], TOOLS).problem).toMatch(
      /unknown tool 'rm_everything'/,
    );
    expect(
      parseToolCalls('<tool_call>{"name": "read_file", "arguments": {</tool_call>', [], TOOLS).problem,
    ).toMatch(/not valid JSON/);
    expect(parseToolCalls('{"name": "read_file", "arguments": "not json"}', [], TOOLS).problem).toMatch(
      /must be a JSON object/,
    );
  });
});

describe("host pool", () => {
  it("picks the least busy host and waits at the limit", async () => {
    const pool = new HostPool(["http://a", "http://b"], 1);
    const h1 = await pool.acquire(null);
    const h2 = await pool.acquire(null);
    expect(new Set([h1.url, h2.url])).toEqual(new Set(["http://a", "http://b"]));
    let third: string | null = null;
    const waiting = pool.acquire(null).then((h) => {
      third = h.url;
      return h;
    });
    await Promise.resolve();
    expect(third).toBeNull();
    pool.release(h2);
    expect((await waiting).url).toBe(h2.url);
    const ac = new AbortController();
    const aborted = pool.acquire(null, ac.signal);
    ac.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
  });
});

describe("Ollama client", () => {
  const fakes: FakeOllama[] = [];
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
  });

  it("non-streaming chat, options and keep_alive passed through, durations from nanoseconds", async () => {
    const f = new FakeOllama();
    fakes.push(f);
    await f.start();
    f.script("llama3.2", () => ({
      content: "hi",
      toolCalls: [{ name: "approve", arguments: {} }],
      promptTokens: 7,
      evalTokens: 3,
    }));
    const client = new OllamaClient({ urls: [f.url] });
    const r = await client.chat({
      model: "llama3.2",
      messages: [{ role: "user", content: "x" }],
      stream: false,
      options: { num_ctx: 8192, temperature: 0 },
      keep_alive: "5m",
    });
    expect(r).toMatchObject({
      message: { content: "hi", tool_calls: [{ function: { name: "approve" } }] },
      prompt_eval_count: 7,
      eval_count: 3,
      total_duration_seconds: 1.5,
      host: f.url,
    });
    expect(f.requests[0]!.body).toMatchObject({
      stream: false,
      options: { num_ctx: 8192, temperature: 0 },
      keep_alive: "5m",
    });
  });

  it("a 404 'model not found' from /api/chat names the model and the fix", async () => {
    const f = new FakeOllama(["other:latest"]);
    fakes.push(f);
    await f.start();
    const client = new OllamaClient({ urls: [f.url] });
    await expect(client.chat({ model: "qwen2.5-coder:7b", messages: [] })).rejects.toThrow(
      `model 'qwen2.5-coder:7b' not found on ${f.url}; run \`ollama pull qwen2.5-coder:7b\``,
    );
  });

  it("gives up on 503 after its retries, saying the host is busy", async () => {
    const f = new FakeOllama();
    fakes.push(f);
    await f.start();
    f.script("llama3.2", () => ({ status: 503 }));
    const client = new OllamaClient({ urls: [f.url], busyRetries: 2, backoffBaseMs: 5 });
    await expect(client.chat({ model: "llama3.2", messages: [] })).rejects.toThrow(/is busy \(503\)/);
    expect(f.requests).toHaveLength(3);
  });

  it("aborting the signal aborts the in-flight request", async () => {
    const f = new FakeOllama();
    fakes.push(f);
    await f.start();
    f.script("llama3.2", () => ({ content: "slow", delayMs: 30_000 }));
    const client = new OllamaClient({ urls: [f.url] });
    const ac = new AbortController();
    const p = client.chat({ model: "llama3.2", messages: [] }, ac.signal);
    const seen = await f.waitForRequest();
    ac.abort();
    await expect(p).rejects.toThrow();
    await expect.poll(() => seen.aborted).toBe(true);
    expect(client.pool.hosts[0]!.inFlight).toBe(0);
  });
});

describe("CLI run", () => {
  const fakes: FakeOllama[] = [];
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
  });

  it("runs one task without a server, shows the steps and the diff, exits 0; a failure exits 1", async () => {
    const f = new FakeOllama();
    fakes.push(f);
    await f.start();
    f.script("qwen2.5-coder:7b", (b) =>
      toolResults(b).length === 0
        ? {
            toolCalls: [
              { name: "write_file", arguments: { path: "hello.py", content: 'print("Hello World")\n' } },
            ],
          }
        : { content: "Created hello.py." },
    );
    f.script("llama3.2", () => ({ toolCalls: [{ name: "approve", arguments: { summary: "ok" } }] }));
    const root = join(tempDir(), "proj");
    mkdirSync(root);
    const ok = await runCli([
      "run",
      "Create hello.py",
      "--project-root",
      root,
      "--check-command",
      "python3 hello.py",
      "--ollama-url",
      f.url,
      "--sandbox",
      "off",
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("[1] coder (qwen2.5-coder:7b) → write_file");
    expect(ok.stdout).toContain("check passed (exit 0)");
    expect(ok.stdout).toContain("review: approved");
    expect(ok.stdout).toContain('+print("Hello World")');
    expect(ok.stdout).toContain("✓ completed in 3 loop(s); files changed: hello.py");

    const bad = await runCli([
      "run",
      "Never finish",
      "--project-root",
      root,
      "--check-command",
      "false",
      "--reviewer-model",
      "none",
      "--max-loops",
      "2",
      "--ollama-url",
      f.url,
      "--sandbox",
      "off",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("✗ failed");
    const missing = await runCli([
      "run",
      "x",
      "--project-root",
      root,
      "--coder-model",
      "nope",
      "--ollama-url",
      f.url,
      "--sandbox",
      "off",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("model 'nope' not found");
  });
});
