import { describe, expect, it } from "vitest";
import { stepPaths } from "../src/domain/step-paths.js";
import { orderSteps, type WorkflowStep, workflowStatus } from "../src/domain/workflow.js";

const step = (id: string, depends_on: string[] = [], inputs?: WorkflowStep["inputs"]): WorkflowStep => ({
  id,
  type: "validation",
  body: {},
  depends_on,
  ...(inputs ? { inputs } : {}),
});

describe("a workflow's steps: order, cycles, inputs", () => {
  it("orders steps after those they depend on, keeping the given order where free", () => {
    const { issues, order } = orderSteps([
      step("test", ["validate"]),
      step("implement"),
      step("validate", ["implement"]),
      step("docs"),
    ]);
    expect(issues).toEqual([]);
    expect(order.map((s) => s.id)).toEqual(["implement", "docs", "validate", "test"]);
  });

  it("names every step of a cycle, a self-dependency, an unknown step and a duplicate id", () => {
    const cycle = orderSteps([step("a", ["c"]), step("b", ["a"]), step("c", ["b"]), step("d")]);
    expect(cycle.order).toEqual([]);
    expect(cycle.issues.map((i) => i.loc)).toEqual([
      ["body", "steps", 0, "depends_on"],
      ["body", "steps", 1, "depends_on"],
      ["body", "steps", 2, "depends_on"],
    ]);
    expect(cycle.issues[0]!.msg).toBe("Step 'a' is in a dependency cycle (a, b, c)");
    expect(orderSteps([step("a", ["a"])]).issues[0]!.msg).toBe("Step 'a' depends on itself");
    expect(orderSteps([step("a", ["zz"])]).issues[0]).toMatchObject({
      loc: ["body", "steps", 0, "depends_on", 0],
      msg: "Step 'a' depends on unknown step 'zz'",
    });
    expect(orderSteps([step("a"), step("a")]).issues[0]!.loc).toEqual(["body", "steps", 1, "id"]);
  });

  it("an input may read a step depended on through others, not one beside it", () => {
    const src = { step: "a", field: "files_changed" };
    expect(orderSteps([step("a"), step("b", ["a"]), step("c", ["b"], { targets_from: src })]).issues).toEqual(
      [],
    );
    const beside = orderSteps([step("a"), step("b"), step("c", ["b"], { targets_from: src })]);
    expect(beside.issues).toEqual([
      {
        loc: ["body", "steps", 2, "inputs", "targets_from", "step"],
        msg: "Step 'c' reads step 'a', which is not among the steps it depends on (directly or through others)",
        type: "value_error.input_step",
      },
    ]);
    const two = orderSteps([step("a"), step("b", ["a"], { targets_from: src, modules_from: src })]);
    expect(two.issues[0]!.msg).toMatch(/one input at most/);
  });

  it("a workflow's status from its jobs'", () => {
    expect(workflowStatus(["queued", "queued"])).toBe("queued");
    expect(workflowStatus(["running", "queued"])).toBe("running");
    expect(workflowStatus(["completed", "queued"])).toBe("running");
    expect(workflowStatus(["completed", "failed", "cancelled"])).toBe("failed");
    expect(workflowStatus(["completed", "cancelled"])).toBe("cancelled");
    expect(workflowStatus(["completed", "completed"])).toBe("completed");
  });
});

describe("a step's paths from its source's results", () => {
  it("collects arrays of paths over the results, de-duplicated in order, filtered by a glob", async () => {
    const results = [
      { files_changed: ["src/a.py", "README.md"] },
      { files_changed: ["src/a.py", "b.py", "docs/x.md"] },
      { files_changed: "not-a-list.py" },
      { other: ["c.py"] },
      { files_changed: [3, "", ".hidden.py"] },
    ];
    expect(await stepPaths(results, "files_changed")).toEqual([
      "src/a.py",
      "README.md",
      "b.py",
      "docs/x.md",
      ".hidden.py",
    ]);
    expect(await stepPaths(results, "files_changed", "*.py")).toEqual(["src/a.py", "b.py", ".hidden.py"]);
    expect(await stepPaths(results, "files_changed", "src/**")).toEqual(["src/a.py"]);
    expect(await stepPaths(results, "files_changed", "*.rs")).toEqual([]);
    expect(await stepPaths(results, "other")).toEqual(["c.py"]);
  });
});
