import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTestSummary } from "../src/processors/test-summary.js";
import { hasBubblewrap, hasBuiltinJail, hasPytest } from "./helpers/requirements.js";
import { writeSampleProject } from "./helpers/sample-project.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const LINT = join(import.meta.dirname, "fixtures", "lint.mjs");

async function sampleServer(sandbox: "off" | "bwrap" | "builtin") {
  const dir = tempDir();
  const config = { sandbox, projectRoot: join(dir, "project"), dataDir: join(dir, "data") };
  writeSampleProject(config.projectRoot);
  // The linter lives in the project: under the jail only the workspace (and the read-only system) is visible,
  // and a checkout under /tmp is hidden by the jail's private /tmp.
  mkdirSync(join(config.projectRoot, "tools"), { recursive: true });
  copyFileSync(LINT, join(config.projectRoot, "tools", "lint.mjs"));
  const t = await startTestApp({
    dataDir: dir,
    config,
    builtins: true,
  });
  return { t, root: config.projectRoot, dir };
}

describe.each([["off"], ["bwrap"], ["builtin"]] as const)(
  "processors against a sample project (--sandbox %s)",
  (mode) => {
    const enabled = mode === "off" || (mode === "bwrap" ? hasBubblewrap() : hasBuiltinJail());

    it.runIf(enabled)("guide example 2: validate a codebase with a ruff-check-style command", async () => {
      const { t } = await sampleServer(mode);
      const targets = ["src/pkg/clean.py", "src/pkg/tabs.py", "src/pkg/trailing.py", "src/pkg"].map((p) => ({
        id: p,
        path: p,
      }));
      const res = await t.request("POST", "/batch/validation", {
        targets,
        check_command: "node tools/lint.mjs",
        parallel: 10,
      });
      expect(res.status).toBe(200);
      const done = await waitForJobEnd(t, res.body.job_id);
      expect(done.status).toBe("failed");
      expect(done.error).toBe("3 of 4 items failed");
      const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
      expect(byId["src/pkg/clean.py"]).toMatchObject({
        status: "passed",
        exit_code: 0,
        stdout: "All checks passed!\n",
      });
      expect(byId["src/pkg/tabs.py"]).toMatchObject({
        status: "failed",
        exit_code: 1,
        error: "check failed (exit 1)",
      });
      expect(byId["src/pkg/tabs.py"].stdout).toContain("W191");
      expect(byId["src/pkg"].stdout).toContain("Found 2 errors.");
      for (const r of done.result.results) {
        expect(typeof r.duration_seconds).toBe("number");
        expect(typeof r.stderr).toBe("string");
      }
    });

    it.runIf(enabled && hasPytest())(
      "validation: pytest's exit 5 (no tests) passes, as the Python server this one replaces did",
      async () => {
        const { t } = await sampleServer(mode);
        const res = await t.request("POST", "/batch/validation", {
          targets: [
            { id: "empty", path: "tests/test_empty.py" },
            { id: "ok", path: "tests/test_ok.py" },
            { id: "mixed", path: "tests/test_mixed.py" },
          ],
        });
        const done = await waitForJobEnd(t, res.body.job_id);
        const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
        expect(byId.empty).toMatchObject({ status: "passed", exit_code: 5 });
        expect(byId.ok).toMatchObject({ status: "passed", exit_code: 0 });
        expect(byId.mixed).toMatchObject({ status: "failed", exit_code: 1 });
      },
    );

    it.runIf(enabled && hasPytest())(
      "guide example 3: run test modules in parallel with pytest -v",
      async () => {
        const { t } = await sampleServer(mode);
        const modules = ["test_ok", "test_mixed", "test_empty"].map((m) => ({
          id: m,
          path: `tests/${m}.py`,
        }));
        const res = await t.request("POST", "/batch/tests", {
          modules,
          test_command: "pytest -v",
          parallel: 5,
        });
        const done = await waitForJobEnd(t, res.body.job_id);
        const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
        expect(byId.test_ok).toMatchObject({
          status: "passed",
          exit_code: 0,
          tests: { passed: 2, failed: 0, skipped: 0 },
        });
        expect(byId.test_mixed).toMatchObject({
          status: "failed",
          exit_code: 1,
          tests: { passed: 1, failed: 1, skipped: 1 },
        });
        expect(byId.test_empty).toMatchObject({ status: "failed", exit_code: 5 });
        expect(byId.test_mixed.stdout).toContain("test_fail FAILED");
      },
    );

    it.runIf(enabled)("tests with node:test: counts from the summary", async () => {
      const { t } = await sampleServer(mode);
      const res = await t.request("POST", "/batch/tests", {
        modules: [
          { id: "ok", path: "js/ok.test.mjs" },
          { id: "bad", path: "js/bad.test.mjs" },
        ],
        test_command: "node --test --test-reporter=tap",
      });
      const done = await waitForJobEnd(t, res.body.job_id);
      const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
      expect(byId.ok).toMatchObject({ status: "passed", tests: { passed: 2, failed: 0, skipped: 1 } });
      expect(byId.bad).toMatchObject({ status: "failed", tests: { passed: 1, failed: 1, skipped: 0 } });
    });

    it.runIf(enabled)("guide example 4: bulk file operations through MCP", async () => {
      const { t, root } = await sampleServer(mode);
      const operations: Record<string, unknown>[] = [];
      for (let i = 0; i < 10; i++) operations.push({ type: "read", path: `src/module_${i}.py` });
      for (let i = 0; i < 10; i++)
        operations.push({ type: "write", path: `output/result_${i}.txt`, content: `Result ${i}` });
      operations.push({ type: "list", path: "src/" }, { type: "command", command: "ls -la" });
      const res = await t.request("POST", "/batch/mcp-operations", { operations, parallel: 10 });
      const done = await waitForJobEnd(t, res.body.job_id);
      expect(done.status).toBe("completed");
      const results = done.result.results;
      expect(results).toHaveLength(22);
      expect(results[0]).toMatchObject({
        id: "op-0",
        type: "read",
        path: "src/module_0.py",
        status: "success",
        result: { content: "VALUE = 0\n" },
      });
      expect(results[10]).toMatchObject({
        type: "write",
        status: "success",
        result: { bytes_written: 8, path: "output/result_0.txt" },
      });
      expect(readFileSync(join(root, "output/result_9.txt"), "utf8")).toBe("Result 9");
      expect(results[20].result.entries).toEqual(
        expect.arrayContaining([
          { name: "pkg", kind: "directory", size: null },
          { name: "module_3.py", kind: "file", size: 10 },
        ]),
      );
      expect(results[21]).toMatchObject({ type: "command", status: "success", result: { exit_code: 0 } });
      expect(results[21].result.stdout).toContain("README.md");
    });

    it.runIf(enabled)(
      "every refusal is a failed item with a clear error, and the server keeps serving",
      async () => {
        const { t, dir } = await sampleServer(mode);
        symlinkSync("/etc", join(dir, "project", "etc-link"));
        const res = await t.request("POST", "/batch/mcp-operations", {
          operations: [
            { id: "traversal", type: "read", path: "../data/batch_jobs.db" },
            { id: "absolute", type: "read", path: "/etc/passwd" },
            { id: "symlink", type: "read", path: "etc-link/passwd" },
            { id: "write-out", type: "write", path: "../escape.txt", content: "x" },
            { id: "list-up", type: "list", path: "../" },
            { id: "rm", type: "command", command: "rm -rf /" },
            { id: "sudo", type: "command", command: "sudo id" },
            { id: "pipe", type: "command", command: "cat README.md | sh" },
            { id: "fine", type: "read", path: "README.md" },
          ],
        });
        const done = await waitForJobEnd(t, res.body.job_id);
        const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
        for (const id of ["traversal", "absolute", "symlink", "write-out", "list-up", "rm", "sudo"]) {
          expect(byId[id].status, id).toBe("failed");
          expect(byId[id].error, id).toMatch(/^SECURITY BLOCK: /);
        }
        expect(byId.pipe).toMatchObject({ status: "failed" });
        expect(byId.pipe.error).toMatch(/shell operator '\|' is not allowed/);
        expect(byId.fine.status).toBe("success");
        expect(existsSync(join(dir, "escape.txt"))).toBe(false);
        const val = await t.request("POST", "/batch/validation", {
          targets: [{ id: "x", path: "../../etc/passwd" }],
          check_command: "cat",
        });
        const vdone = await waitForJobEnd(t, val.body.job_id);
        expect(vdone.result.results[0].error).toMatch(
          /^SECURITY BLOCK: path '..\/..\/etc\/passwd' is outside the project root/,
        );
        expect((await t.request("GET", "/health")).status).toBe(200);
      },
    );

    it.runIf(enabled)(
      "a check program missing where the commands run fails the job at once, with the fix; one the jail sees runs",
      async () => {
        const { t, dir } = await sampleServer(mode);
        // On the host, but in the data directory, which the jail hides: found only with --sandbox off.
        const hidden = join(dir, "data", "host-only-check.sh");
        writeFileSync(hidden, "#!/bin/sh\nexit 0\n");
        chmodSync(hidden, 0o755);
        const targets = [
          { id: "a", path: "src/pkg/clean.py" },
          { id: "b", path: "src/pkg/tabs.py" },
        ];
        const submit = async (kind: string, body: object) => {
          const res = await t.request("POST", `/batch/${kind}`, body);
          expect(res.status).toBe(200);
          return waitForJobEnd(t, res.body.job_id);
        };
        const missing = await submit("validation", {
          targets,
          check_command: "no-such-checker-xyz --strict",
        });
        expect(missing.status).toBe("failed");
        expect(missing.error).toMatch(
          /^check_command program 'no-such-checker-xyz' not found (inside the jail commands run in|on the PATH commands run with) \(check_command: "no-such-checker-xyz --strict"\); no item was run\. Fix: install no-such-checker-xyz .*, or set check_command to a program that is installed$/,
        );
        for (const r of missing.result.results) expect(r).not.toHaveProperty("command");
        const tests = await submit("tests", { modules: targets, test_command: "./no/such/runner" });
        expect(tests.error).toMatch(
          /^test_command program '\.\/no\/such\/runner' not found .*make sure \.\/no\/such\/runner exists in the project and is executable/,
        );
        const hostOnly = await submit("validation", { targets, check_command: hidden });
        if (mode === "off") expect(hostOnly.status).toBe("completed");
        else {
          expect(hostOnly.status).toBe("failed");
          expect(hostOnly.error).toContain(`check_command program '${hidden}' not found inside the jail`);
        }
        const inProject = await submit("validation", { targets, check_command: "node tools/lint.mjs" });
        expect(inProject.error).toBe("1 of 2 items failed");
      },
    );

    it.runIf(enabled)("a target that is not there is a failed item, and nothing is run for it", async () => {
      const { t, root } = await sampleServer(mode);
      writeFileSync(
        join(root, "tools", "count.mjs"),
        'import { appendFileSync } from "node:fs";\nappendFileSync("runs.log", process.argv[2] + "\\n");\n',
      );
      for (const [kind, field, option] of [
        ["validation", "targets", "check_command"],
        ["tests", "modules", "test_command"],
      ] as const) {
        const res = await t.request("POST", `/batch/${kind}`, {
          [field]: [
            { id: "there", path: "src/pkg/clean.py" },
            { id: "gone", path: "src/pkg/gone.py" },
          ],
          [option]: "node tools/count.mjs",
        });
        const done = await waitForJobEnd(t, res.body.job_id);
        const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
        expect(byId.gone).toEqual({
          id: "gone",
          path: "src/pkg/gone.py",
          status: "failed",
          failure: "not_found",
          error: "target not found: src/pkg/gone.py (nothing was run)",
          worker_id: expect.any(String),
        });
      }
      expect(readFileSync(join(root, "runs.log"), "utf8").trim().split("\n")).toEqual([
        "src/pkg/clean.py",
        "src/pkg/clean.py",
      ]);
    });
  },
);

describe("processor options", () => {
  it("a check_command with shell operators is a 422 at submit", async () => {
    const { t } = await sampleServer("off");
    const res = await t.request("POST", "/batch/validation", {
      targets: [{ path: "a" }],
      check_command: "ruff check; rm -rf /",
    });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ loc: ["body", "check_command"] });
    expect(res.body.detail[0].msg).toMatch(/shell operator ';' is not allowed/);
  });

  it("a command killed by a signal names the signal", async () => {
    const { t } = await sampleServer("off");
    const res = await t.request("POST", "/batch/mcp-operations", {
      operations: [{ id: "k", type: "command", command: "sh -c 'kill -XCPU $$'" }],
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0]).toMatchObject({
      status: "failed",
      error: "command killed by SIGXCPU",
      result: { exit_code: null, signal: "SIGXCPU" },
    });
  });

  it("a per-item timeout fails that item only", async () => {
    const { t } = await sampleServer("off");
    const res = await t.request("POST", "/batch/mcp-operations", {
      operations: [
        { id: "slow", type: "command", command: "sleep 30", timeout_seconds: 0.3 },
        { id: "quick", type: "command", command: "echo hi" },
      ],
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    const byId = Object.fromEntries(done.result.results.map((r: { id: string }) => [r.id, r]));
    expect(byId.slow).toMatchObject({ status: "failed" });
    expect(byId.slow.error).toMatch(/timed out/);
    expect(byId.quick).toMatchObject({ status: "success", result: { stdout: "hi\n" } });
  });
});

describe("test summary parsing", () => {
  it.each([
    ["pytest", "===== 3 passed, 1 failed, 2 skipped in 0.12s =====", { passed: 3, failed: 1, skipped: 2 }],
    ["pytest -q", "..F\n2 passed, 1 failed, 1 warning in 0.01s", { passed: 2, failed: 1, skipped: 0 }],
    ["pytest errors", "= 1 failed, 4 passed, 2 errors in 1.2s =", { passed: 4, failed: 3, skipped: 0 }],
    [
      "vitest",
      " Test Files  1 passed (1)\n      Tests  3 passed | 1 failed | 2 skipped (6)\n",
      { passed: 3, failed: 1, skipped: 2 },
    ],
    ["jest", "Tests:       1 failed, 2 passed, 3 total", { passed: 2, failed: 1, skipped: 0 }],
    [
      "node:test tap",
      "# tests 3\n# pass 2\n# fail 1\n# skipped 0\n# todo 0",
      { passed: 2, failed: 1, skipped: 0 },
    ],
    [
      "go test",
      "=== RUN TestA\n--- PASS: TestA (0.00s)\n--- FAIL: TestB (0.00s)\n--- SKIP: TestC",
      { passed: 1, failed: 1, skipped: 1 },
    ],
  ])("%s", (_name, out, counts) => {
    expect(parseTestSummary(out)).toEqual(counts);
  });

  it("is absent when unrecognisable", () => {
    expect(parseTestSummary("hello world")).toBeNull();
  });
});
