import { describe, expect, it } from "vitest";
import { BUILTIN_KINDS } from "../src/processors/builtin-kinds.js";
import { resolveJobType } from "../src/queue/job-type-alias.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { startTestApp } from "./helpers/test-app.js";

describe("job type aliases (the API's ?job_type= and the CLI's --type)", () => {
  it("a submit name, its first word, the stored name without batch_, or the stored name itself", () => {
    const cases: Record<string, string> = {
      tests: "batch_tests",
      batch_tests: "batch_tests",
      validation: "batch_validation",
      agent: "batch_agent_tasks",
      "agent-tasks": "batch_agent_tasks",
      agent_tasks: "batch_agent_tasks",
      mcp: "batch_mcp",
      "mcp-operations": "batch_mcp",
      MCP: "batch_mcp",
    };
    for (const [name, type] of Object.entries(cases))
      expect(resolveJobType(BUILTIN_KINDS, name), name).toBe(type);
  });

  it("anything else is left as it is (a plugin's type, or a name that matches no job)", () => {
    expect(resolveJobType(BUILTIN_KINDS, "test_sleep")).toBe("test_sleep");
    expect(resolveJobType(BUILTIN_KINDS, "bananas")).toBe("bananas");
  });

  it("POST /batch/jobs takes a job type by any of its names, and stores its own", async () => {
    const t = await startTestApp({ register: (r) => r.register("batch_mcp", noopProcessor) });
    for (const name of ["mcp", "mcp-operations", "batch_mcp"]) {
      const res = await t.request("POST", "/batch/jobs", {
        type: name,
        items: [{ type: "list", path: "." }],
      });
      expect(res.status, name).toBe(200);
      expect(res.body.job_id).toMatch(/^batch_mcp-/);
    }
    const unknown = await t.request("POST", "/batch/jobs", { type: "bananas", items: [{}] });
    expect(unknown.status).toBe(422);
  });
});
