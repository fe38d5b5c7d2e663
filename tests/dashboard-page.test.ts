import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { dashboardKinds } from "../src/api/dashboard-kinds.js";
import { DASHBOARD_CSP } from "../src/api/routes/dashboard-route.js";
import { BUILTIN_KINDS } from "../src/processors/builtin-kinds.js";
import type { JobKind } from "../src/queue/job-kind.js";
import type { DashboardConfig } from "../src/web/dashboard-config.js";
import { ISOLATIONS } from "../src/workspace/isolation.js";
import { startTestApp } from "./helpers/test-app.js";

/** A plugin's kind, with markup where a careless page would let it run. */
const GREET: JobKind = {
  type: "test_greet",
  item: Type.Object({ id: Type.Optional(Type.String()), name: Type.String({ minLength: 1 }) }),
  options: Type.Object({
    greeting: Type.String({ default: "hello" }),
    loud: Type.Optional(Type.Boolean()),
    extra: Type.Optional(Type.Object({})),
  }),
  result: Type.Object({}),
  submit: {
    path: "/batch/greetings",
    cliName: "greetings",
    summary: "Greet people </script><script>alert(1)</script>",
    title: "GreetingsRequest",
    itemsField: "people",
    itemsDescription: "People to greet.",
    totalKey: "total_people",
    chunkSize: 7,
    parallel: 2,
  },
};

const configOf = (html: string): DashboardConfig => {
  const m = /<script type="application\/json" id="oc-config">([^<]*)<\/script>/.exec(html);
  if (!m?.[1]) throw new Error("no config block in the page");
  return JSON.parse(m[1]) as DashboardConfig;
};

describe("the dashboard's submit forms come from the kinds' schemas", () => {
  it("derives each kind's item and option inputs, defaults and choices", () => {
    const kinds = dashboardKinds(BUILTIN_KINDS);
    expect(kinds.map((k) => [k.type, k.path, k.itemsField])).toEqual([
      ["batch_agent_tasks", "/batch/agent-tasks", "tasks"],
      ["batch_validation", "/batch/validation", "targets"],
      ["batch_tests", "/batch/tests", "modules"],
      ["batch_mcp", "/batch/mcp-operations", "operations"],
    ]);
    const [agent, validation, , mcp] = kinds;
    const field = (fields: { name: string }[] | undefined, name: string) =>
      fields?.find((f) => f.name === name);
    expect(field(agent?.item, "description")).toMatchObject({ input: "text", required: true });
    expect(field(agent?.options, "coder_model")).toMatchObject({
      input: "string",
      required: false,
      default: "qwen2.5-coder:7b",
    });
    expect(field(agent?.options, "isolation")).toMatchObject({ input: "choice", choices: [...ISOLATIONS] });
    expect(field(agent?.options, "apply_changes")).toMatchObject({ input: "boolean", required: false });
    expect(field(agent?.options, "max_loops")).toMatchObject({ input: "integer" });
    expect(field(agent?.options, "link_paths")).toMatchObject({ input: "json" });
    expect(field(agent?.options, "chunk_size")).toMatchObject({ input: "integer", default: 10 });
    expect(field(validation?.item, "path")).toMatchObject({ input: "string", required: true });
    expect(field(validation?.options, "parallel")).toMatchObject({ default: 5 });
    expect(field(mcp?.item, "type")).toMatchObject({
      input: "choice",
      required: true,
      choices: ["read", "write", "list", "command"],
    });
    expect(field(mcp?.item, "content")).toMatchObject({ input: "text", required: false });
    // A kind without a submit route of its own gets no form.
    expect(dashboardKinds([{ ...GREET, submit: undefined }])).toEqual([]);
  });
});

describe("the dashboard page", () => {
  it("runs no inline script, embeds the server's facts as inert data, and serves its script and icon", async () => {
    const t = await startTestApp({
      config: { workers: 0 },
      register: (r) => {
        r.declare(GREET);
        r.register("test_greet", { processItem: async () => ({ status: "succeeded" }) });
      },
    });
    const page = await t.request("GET", "/");
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp.startsWith(DASHBOARD_CSP)).toBe(true);
    expect(csp).toContain("frame-ancestors 'none'");
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1];
    expect(scriptSrc).toBe("'self'");
    // Scripts: the data block (not run) and /dashboard.js; nothing else, and the plugin's markup stays data.
    const scripts = page.text.match(/<script[^>]*>/g);
    expect(scripts).toEqual([
      '<script type="application/json" id="oc-config">',
      '<script src="/dashboard.js" defer>',
    ]);
    const config = configOf(page.text);
    expect(config.authRequired).toBe(false);
    expect(config.jobTypes).toEqual([...BUILTIN_KINDS.map((k) => k.type), "test_greet"]);
    const greet = config.kinds.find((k) => k.type === "test_greet");
    expect(greet?.summary).toBe("Greet people </script><script>alert(1)</script>");
    expect(greet?.item.map((f) => [f.name, f.input, f.required])).toEqual([
      ["id", "string", false],
      ["name", "string", true],
    ]);
    expect(greet?.options.map((f) => f.name)).toEqual([
      "greeting",
      "loud",
      "extra",
      "chunk_size",
      "parallel",
    ]);
    expect(page.text).toContain('<button id="keyButton" title="API key" class="hidden">');

    const js = await t.request("GET", "/dashboard.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.text).toContain("oc-config");
    expect(() => new Function(js.text)).not.toThrow(); // it parses (the browser tests run it)
    const icon = await t.request("GET", "/favicon.ico");
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    // Swagger UI's "Authorize" comes from the security schemes: none without keys.
    const spec = (await t.request("GET", "/openapi.json")).body;
    expect(spec.components?.securitySchemes).toBeUndefined();
    expect(spec.security).toBeUndefined();
  });

  it("with keys: the key button shows, the API asks for a key, the page, script and icon do not", async () => {
    const t = await startTestApp({ config: { workers: 0, apiKeys: "k1" } });
    const page = await t.request("GET", "/");
    expect(configOf(page.text).authRequired).toBe(true);
    expect(page.text).toContain('<button id="keyButton" title="API key">');
    for (const path of ["/dashboard.js", "/favicon.ico"])
      expect((await t.request("GET", path)).status).toBe(200);
    expect((await t.request("GET", "/batch/stats")).status).toBe(401);
  });
});
