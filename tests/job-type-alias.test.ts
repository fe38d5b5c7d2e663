import { describe, expect, it } from "vitest";
import { BUILTIN_KINDS } from "../src/processors/builtin-kinds.js";
import { resolveJobType } from "../src/queue/job-type-alias.js";

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
});
