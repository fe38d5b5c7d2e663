import { describe, expect, it } from "vitest";
import { startTestApp } from "./helpers/test-app.js";

type Case = [name: string, method: string, path: string, body: unknown, status: number, contentType?: string];

const task = { id: "t", description: "do it" };
const big = "x".repeat(17 * 1024 * 1024);

const CASES: Case[] = [
  ["agent: no body", "POST", "/batch/agent-tasks", undefined, 422],
  ["agent: empty object", "POST", "/batch/agent-tasks", {}, 422],
  ["agent: tasks not a list", "POST", "/batch/agent-tasks", { tasks: "do it" }, 422],
  ["agent: empty tasks", "POST", "/batch/agent-tasks", { tasks: [] }, 422],
  ["agent: task without description", "POST", "/batch/agent-tasks", { tasks: [{ id: "a" }] }, 422],
  ["agent: empty description", "POST", "/batch/agent-tasks", { tasks: [{ id: "a", description: "" }] }, 422],
  [
    "agent: blank description",
    "POST",
    "/batch/agent-tasks",
    { tasks: [{ id: "a", description: "   " }] },
    422,
  ],
  ["agent: description a number", "POST", "/batch/agent-tasks", { tasks: [{ description: 42 }] }, 422],
  ["agent: task is a string", "POST", "/batch/agent-tasks", { tasks: ["do it"] }, 422],
  ["agent: task is null", "POST", "/batch/agent-tasks", { tasks: [null] }, 422],
  [
    "agent: task workspace out of the project",
    "POST",
    "/batch/agent-tasks",
    { tasks: [{ description: "x", workspace: "../elsewhere" }] },
    422,
  ],
  [
    "agent: task workspace absolute",
    "POST",
    "/batch/agent-tasks",
    { tasks: [{ description: "x", workspace: "/etc" }] },
    422,
  ],
  ["agent: duplicate ids", "POST", "/batch/agent-tasks", { tasks: [task, task] }, 422],
  ["agent: parallel 0", "POST", "/batch/agent-tasks", { tasks: [task], parallel: 0 }, 422],
  ["agent: parallel too high", "POST", "/batch/agent-tasks", { tasks: [task], parallel: 100000 }, 422],
  ["agent: parallel fractional", "POST", "/batch/agent-tasks", { tasks: [task], parallel: 2.5 }, 422],
  ["agent: parallel a word", "POST", "/batch/agent-tasks", { tasks: [task], parallel: "many" }, 422],
  ["agent: chunk_size 0", "POST", "/batch/agent-tasks", { tasks: [task], chunk_size: 0 }, 422],
  ["agent: chunk_size negative", "POST", "/batch/agent-tasks", { tasks: [task], chunk_size: -5 }, 422],
  [
    "agent: chunk_size too high",
    "POST",
    "/batch/agent-tasks",
    { tasks: [task], chunk_size: 10_000_000 },
    422,
  ],
  ["agent: max_loops 0", "POST", "/batch/agent-tasks", { tasks: [task], max_loops: 0 }, 422],
  ["agent: empty check_command", "POST", "/batch/agent-tasks", { tasks: [task], check_command: "" }, 422],
  ["agent: coder_model a list", "POST", "/batch/agent-tasks", { tasks: [task], coder_model: ["a"] }, 422],
  ["agent: empty coder_model", "POST", "/batch/agent-tasks", { tasks: [task], coder_model: "" }, 422],
  ["agent: negative timeout", "POST", "/batch/agent-tasks", { tasks: [task], timeout_seconds: -1 }, 422],
  ["agent: body is a list", "POST", "/batch/agent-tasks", [task], 422],
  ["agent: body is a string", "POST", "/batch/agent-tasks", '"tasks"', 422],
  ["agent: invalid JSON", "POST", "/batch/agent-tasks", '{"tasks": [', 422],
  ["agent: trailing garbage", "POST", "/batch/agent-tasks", '{"tasks": []} xyz', 422],
  ["agent: text/plain body", "POST", "/batch/agent-tasks", "tasks=1", 415, "text/plain"],
  ["agent: body over the limit", "POST", "/batch/agent-tasks", { tasks: [{ description: big }] }, 413],
  ["validation: no targets", "POST", "/batch/validation", { check_command: "ruff check" }, 422],
  ["validation: target without path", "POST", "/batch/validation", { targets: [{ id: "a" }] }, 422],
  ["validation: empty path", "POST", "/batch/validation", { targets: [{ path: "" }] }, 422],
  ["validation: path a number", "POST", "/batch/validation", { targets: [{ path: 7 }] }, 422],
  ["validation: parallel 0", "POST", "/batch/validation", { targets: [{ path: "a" }], parallel: 0 }, 422],
  [
    "validation: timeout 0",
    "POST",
    "/batch/validation",
    { targets: [{ path: "a" }], timeout_seconds: 0 },
    422,
  ],
  ["tests: modules an object", "POST", "/batch/tests", { modules: { path: "a" } }, 422],
  ["tests: module without path", "POST", "/batch/tests", { modules: [{ id: "m" }] }, 422],
  ["tests: empty test_command", "POST", "/batch/tests", { modules: [{ path: "a" }], test_command: "" }, 422],
  [
    "tests: duplicate module ids",
    "POST",
    "/batch/tests",
    {
      modules: [
        { id: "m", path: "a" },
        { id: "m", path: "b" },
      ],
    },
    422,
  ],
  ["mcp: no operations", "POST", "/batch/mcp-operations", {}, 422],
  ["mcp: operation without type", "POST", "/batch/mcp-operations", { operations: [{ path: "a" }] }, 422],
  [
    "mcp: unknown type",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "delete", path: "a" }] },
    422,
  ],
  ["mcp: read without path", "POST", "/batch/mcp-operations", { operations: [{ type: "read" }] }, 422],
  [
    "mcp: list with empty path",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "list", path: "" }] },
    422,
  ],
  [
    "mcp: write without content",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "write", path: "a" }] },
    422,
  ],
  [
    "mcp: write without path",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "write", content: "x" }] },
    422,
  ],
  [
    "mcp: write content a number",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "write", path: "a", content: 5 }] },
    422,
  ],
  [
    "mcp: command without command",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "command" }] },
    422,
  ],
  [
    "mcp: blank command",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "command", command: "  " }] },
    422,
  ],
  ["generic: no type", "POST", "/batch/jobs", { items: [{}] }, 422],
  ["generic: bad type name", "POST", "/batch/jobs", { type: "Drop Table", items: [{}] }, 422],
  ["generic: items not objects", "POST", "/batch/jobs", { type: "noop", items: [1, 2] }, 422],
  ["generic: options not an object", "POST", "/batch/jobs", { type: "noop", items: [{}], options: "x" }, 422],
  ["list: limit 0", "GET", "/batch/jobs?limit=0", undefined, 422],
  ["list: limit a word", "GET", "/batch/jobs?limit=ten", undefined, 422],
  ["list: negative offset", "GET", "/batch/jobs?offset=-1", undefined, 422],
  ["list: unknown status", "GET", "/batch/jobs?status=exploded", undefined, 422],
  ["list: offset 1e20", "GET", "/batch/jobs?offset=1e20", undefined, 422],
  ["list: offset past the maximum", "GET", "/batch/jobs?offset=9007199254740993", undefined, 422],
  ["list: limit 1e20", "GET", "/batch/jobs?limit=1e20", undefined, 422],
  ["list: offset fractional", "GET", "/batch/jobs?offset=1.5", undefined, 422],
  ["list: offset Infinity", "GET", "/batch/jobs?offset=Infinity", undefined, 422],
  ["items: offset 1e20", "GET", "/batch/jobs/x/items?offset=1e20", undefined, 422],
  ["items: limit 1e20", "GET", "/batch/jobs/x/items?limit=1e20", undefined, 422],
  ["items: negative offset", "GET", "/batch/jobs/x/items?offset=-1", undefined, 422],
  [
    "get: include_results a word",
    "GET",
    "/batch/jobs/batch_mcp-000000000000?include_results=maybe",
    undefined,
    422,
  ],
  ["get: unknown job", "GET", "/batch/jobs/nope", undefined, 404],
  ["delete: unknown job", "DELETE", "/batch/jobs/nope", undefined, 404],
  ["unknown route", "GET", "/batch/nothing", undefined, 404],
  ["wrong method", "PUT", "/batch/stats", {}, 404],
  ["xml body", "POST", "/batch/validation", "<targets/>", 415, "application/xml"],
  ["JSON sent as text/plain", "POST", "/batch/validation", '{"targets":[{"path":"a"}]}', 415, "text/plain"],
  [
    "a __proto__ key",
    "POST",
    "/batch/jobs",
    '{"type":"noop","items":[{}],"__proto__":{"x":1}}',
    422,
    "application/json",
  ],
  ["job id past the router's limit", "GET", `/batch/jobs/${"x".repeat(201)}`, undefined, 414],
  ["items: job id past the router's limit", "GET", `/batch/jobs/${"x".repeat(201)}/items`, undefined, 414],
  ["delete: job id past the router's limit", "DELETE", `/batch/jobs/${"x".repeat(5000)}`, undefined, 414],
  ["undecodable URL", "GET", "/batch/jobs/%E0%A4%A", undefined, 400],
  ["URL past the header limit", "GET", `/batch/jobs/${"y".repeat(20_000)}`, undefined, 431],
  [
    "agent: misspelt option",
    "POST",
    "/batch/agent-tasks",
    { tasks: [{ description: "x" }], max_loop: 3 },
    422,
  ],
  ["validation: misspelt option", "POST", "/batch/validation", { targets: [{ path: "a" }], paralel: 2 }, 422],
  ["tests: misspelt option", "POST", "/batch/tests", { modules: [{ path: "a" }], test_comand: "x" }, 422],
  [
    "mcp: unknown field",
    "POST",
    "/batch/mcp-operations",
    { operations: [{ type: "list", path: "." }], x: 1 },
    422,
  ],
  ["generic: unknown field", "POST", "/batch/jobs", { type: "noop", items: [{}], optons: {} }, 422],
  ["generic: unknown type", "POST", "/batch/jobs", { type: "no_such_type", items: [{}] }, 422],
];

describe("malformed requests", () => {
  it(`has at least 40 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it("answers each with a 4xx and a detail, queues nothing, and keeps serving", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const failures: string[] = [];
    for (const [name, method, path, body, status, contentType] of CASES) {
      const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
      if (body === undefined && method === "POST") headers["content-type"] = "application/json";
      const res = await t.request(method, path, body, headers);
      const detailOk =
        typeof res.body === "object" &&
        res.body !== null &&
        (typeof res.body.detail === "string" ||
          (Array.isArray(res.body.detail) &&
            res.body.detail.length > 0 &&
            res.body.detail.every(
              (d: { loc: unknown; msg: unknown; type: unknown }) =>
                Array.isArray(d.loc) && typeof d.msg === "string" && typeof d.type === "string",
            )));
      if (res.status !== status || !detailOk)
        failures.push(`${name}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    const stats = await t.request("GET", "/batch/stats");
    expect(stats.body.stats.total).toBe(0);
    expect((await t.request("GET", "/health")).status).toBe(200);
  });

  it("names the offending item and field, FastAPI style", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "a", description: "ok" }, { id: "b" }],
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      { loc: ["body", "tasks", 1, "description"], msg: "Field required", type: "missing" },
    ]);
    const dup = await t.request("POST", "/batch/validation", {
      targets: [
        { id: "x", path: "a" },
        { id: "x", path: "b" },
      ],
    });
    expect(dup.body.detail[0].loc).toEqual(["body", "targets", 1, "id"]);
    expect(dup.body.detail[0].msg).toMatch(/Duplicate id 'x'/);
    const op = await t.request("POST", "/batch/mcp-operations", {
      operations: [
        { type: "read", path: "a" },
        { type: "write", path: "b" },
      ],
    });
    expect(op.body.detail).toEqual([
      {
        loc: ["body", "operations", 1, "content"],
        msg: "Field required for a 'write' operation (a string)",
        type: "missing",
      },
    ]);
    const plain = await t.request("POST", "/batch/validation", '{"targets":[{"path":"a"}]}', {
      "content-type": "text/plain",
    });
    expect(plain.body.detail).toBe(
      "Unsupported Media Type 'text/plain': send the body as JSON with 'Content-Type: application/json'",
    );
    const proto = await t.request("POST", "/batch/jobs", '{"type":"noop","items":[{"__proto__":{}}]}', {
      "content-type": "application/json",
    });
    expect(proto.body.detail[0]).toMatchObject({ loc: ["body"], type: "json_invalid" });
    expect(proto.body.detail[0].msg).toMatch(/a key named __proto__ .* is refused/);
    const query = await t.request("GET", "/batch/jobs?limit=0");
    expect(query.body.detail[0].loc).toEqual(["query", "limit"]);
    const big = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "x".repeat(17 * 1024 * 1024) }],
    });
    expect(big.status).toBe(413);
    expect(big.body.detail).toMatch(/16 MiB/);
  });
});

describe("deeply nested JSON", () => {
  it("is a 422 before it is parsed, not seconds of a frozen server", async () => {
    const { startTestApp } = await import("./helpers/test-app.js");
    const t = await startTestApp({ config: { workers: 0 } });
    const deep = `{"operations":[{"type":"read","path":"a","x":${"[".repeat(100_000)}${"]".repeat(100_000)}}]}`;
    const res = await fetch(`${t.url}/batch/mcp-operations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: deep,
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).detail[0]).toMatchObject({ loc: ["body"], type: "json_too_deep" });
    // strings may hold brackets; 64 levels are fine
    const ok = `{"operations":[{"type":"write","path":"b.txt","content":"${"[{".repeat(1000)}","x":${"[".repeat(58)}${"]".repeat(58)}}]}`;
    const accepted = await fetch(`${t.url}/batch/mcp-operations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ok,
    });
    expect(accepted.status).toBe(200);
  });
});
