import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FAILURE_REASON_NAMES, failureOfError, failureOfMessage } from "../src/domain/failure.js";
import { NotFoundError, SecurityBlockError } from "../src/errors.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

/** The built-in job types on a small project (no jail: what is tested here is how outcomes are named). */
async function builtinApp() {
  const dir = tempDir();
  const root = join(dir, "project");
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "src", "a.py"), "A = 1\n");
  const t = await startTestApp({
    dataDir: dir,
    builtins: true,
    config: { sandbox: "off", projectRoot: root, dataDir: join(dir, "data") },
  });
  return t;
}

async function entries(t: TestApp, path: string, body: object) {
  const res = await t.request("POST", path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const job = await waitForJobEnd(t, res.body.job_id);
  return (job.result.results as any[]).map((r) => [r.id, r.status, r.failure ?? null]);
}

describe("every failed entry says status failed, and why in `failure`", () => {
  it("validation and tests: check failed, program missing, timed out; passed is the success word", async () => {
    const t = await builtinApp();
    const target = [{ id: "a", path: "src/a.py" }];
    expect(await entries(t, "/batch/validation", { targets: target, check_command: "true" })).toEqual([
      ["a", "passed", null],
    ]);
    expect(await entries(t, "/batch/validation", { targets: target, check_command: "false" })).toEqual([
      ["a", "failed", "check"],
    ]);
    expect(
      await entries(t, "/batch/validation", { targets: target, check_command: "no-such-checker-xyz" }),
    ).toEqual([["a", "failed", "not_found"]]);
    expect(
      await entries(t, "/batch/tests", { modules: target, test_command: "tail -f", timeout_seconds: 0.5 }),
    ).toEqual([["a", "failed", "timeout"]]);
    expect(
      await entries(t, "/batch/validation", {
        targets: [{ id: "out", path: "../outside.py" }],
        check_command: "true",
      }),
    ).toEqual([["out", "failed", "security"]]);
  });

  it("MCP operations: success, a missing file, a path outside the root, a directory read, a command that exits 1", async () => {
    const t = await builtinApp();
    const operations = [
      { id: "read", type: "read", path: "src/a.py" },
      { id: "missing", type: "read", path: "src/nope.py" },
      { id: "outside", type: "read", path: "../x" },
      { id: "dir", type: "read", path: "src" },
      { id: "exit", type: "command", command: "false" },
    ];
    expect(await entries(t, "/batch/mcp-operations", { operations })).toEqual([
      ["read", "success", null],
      ["missing", "failed", "not_found"],
      ["outside", "failed", "security"],
      ["dir", "failed", "invalid"],
      ["exit", "failed", "check"],
    ]);
  });

  it("errors map to reasons by their class or, through a wire, their text; every reason is documented", () => {
    expect(failureOfError(new NotFoundError("no such file or directory: 'x'"))).toBe("not_found");
    expect(failureOfError(new SecurityBlockError("path 'x' is outside the project root"))).toBe("security");
    expect(failureOfError(new Error("boom"))).toBe("error");
    expect(failureOfMessage("SECURITY BLOCK: rm -rf / refused")).toBe("security");
    expect(failureOfMessage("command not found: ruff")).toBe("not_found");
    expect(failureOfMessage("something else")).toBe("error");
    expect(FAILURE_REASON_NAMES).toEqual([
      "check",
      "timeout",
      "not_found",
      "security",
      "conflict",
      "invalid",
      "error",
    ]);
  });
});
