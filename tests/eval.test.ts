import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderComparison } from "../src/eval/compare.js";
import { gradeTree } from "../src/eval/grade.js";
import { RESULT_FILES, readResults, writeResults } from "../src/eval/results.js";
import { runEval } from "../src/eval/run-eval.js";
import { renderSummary } from "../src/eval/summary.js";
import { loadTasks } from "../src/eval/task-spec.js";
import { overlay } from "../src/eval/tree.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import type { ChatBody, Reply } from "./fixtures/fake-ollama.js";
import { toolResults, userTask } from "./fixtures/fake-ollama.js";
import { fakeOllama } from "./helpers/agent-app.js";
import { hasBubblewrap, hasBuiltinJail } from "./helpers/requirements.js";
import { runCli } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

const TASKS_DIR = join(import.meta.dirname, "..", "eval", "tasks");
const CODER = "qwen2.5-coder:7b";

/** An unjailed sandbox around a directory (the jail is the sandbox suites' subject). */
const sandboxAt = (root: string) => new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });

const write = (path: string, content: string) => ({ name: "write_file", arguments: { path, content } });

/**
 * A scripted coder that solves one task, fumbles one (a fix that leaves the hidden tests failing), cheats on
 * one (rewrites the visible test to pass) and only makes unusable tool calls on one; as the single-shot baseline it answers one task with whole files and the others with prose.
 */
function coder(b: ChatBody): Reply {
  const task = userTask(b);
  if (!b.tools) {
    // The single-shot baseline: no tools offered, whole files expected.
    if (task.includes("mean() crashes"))
      return {
        content:
          "### FILE: stats.py\n```python\ndef mean(xs):\n    return sum(xs) / len(xs) if xs else None\n```\n",
      };
    return { content: "I would need to look at the code first." };
  }
  if (task.startsWith("Create roman.py"))
    return { toolCalls: [{ name: "delete_everything", arguments: {} }] };
  if (toolResults(b).length > 0) return { content: "Done." };
  if (task.includes("mean() crashes"))
    return {
      toolCalls: [write("stats.py", "def mean(xs):\n    return sum(xs) / len(xs) if xs else None\n")],
    };
  if (task.includes("pagination test fails"))
    // Passes the visible test, not the hidden edge cases (0 items is 1 page here).
    return {
      toolCalls: [
        write("paging.py", "def page_count(total, per_page):\n    return max(1, -(-total // per_page))\n"),
      ],
    };
  if (task.includes("is_palindrome"))
    return { toolCalls: [write("test_text.py", "def test_phrase():\n    assert True\n")] };
  return { content: "Nothing to do." };
}

const GLOB = "{fix-average-empty,fix-off-by-one-pages,fix-palindrome-case,roman-numerals}";

/** The run's settings but those a test sets (a machine under load starts pytest slowly: generous limits). */
const SETTINGS = {
  tasksDir: TASKS_DIR,
  coderModel: CODER,
  reviewerModel: null,
  maxLoops: 3,
  repeat: 1,
  jail: { sandbox: "off" },
  timeoutSeconds: 120,
  gradeTimeoutSeconds: 120,
  parallel: 3,
};

describe("ollama-coder eval against the Ollama-protocol test server", () => {
  it("grades passing, failing, timed-out, malformed and cheating tasks; runs the baseline; writes reproducible results", {
    timeout: 240_000,
  }, async () => {
    const ollama = await fakeOllama();
    ollama.script(CODER, coder);
    const resultsDir = tempDir();
    const { dir, records } = await runEval({
      ...SETTINGS,
      tasks: GLOB,
      baseline: "single-shot",
      ollamaUrl: ollama.url,
      resultsDir,
    });
    const agent = Object.fromEntries(records.filter((r) => r.mode === "agent").map((r) => [r.task, r]));
    expect(agent["fix-average-empty"]).toMatchObject({ passed: true, verdict: "passed", tool_calls: 1 });
    expect(agent["fix-average-empty"]!.diff).toContain("stats.py");
    expect(agent["fix-average-empty"]!.model_calls).toBeGreaterThanOrEqual(2);
    expect(agent["fix-average-empty"]!.tokens_in).toBeGreaterThan(0);
    // The agent's own check passed (the visible test), the hidden tests did not: never counted as passed.
    expect(agent["fix-off-by-one-pages"]).toMatchObject({ passed: false, verdict: "failed" });
    expect(agent["fix-off-by-one-pages"]!.agent_status).toBe("completed");
    expect(agent["fix-palindrome-case"]).toMatchObject({ passed: false, verdict: "cheated" });
    expect(agent["fix-palindrome-case"]!.detail).toContain("test_text.py");
    expect(agent["roman-numerals"]).toMatchObject({ passed: false, malformed_tool_calls: 3, tool_calls: 0 });

    const shot = Object.fromEntries(records.filter((r) => r.mode === "single-shot").map((r) => [r.task, r]));
    expect(Object.keys(shot).sort()).toEqual(Object.keys(agent).sort());
    expect(shot["fix-average-empty"]).toMatchObject({ passed: true, model_calls: 1, tool_calls: 0 });
    expect(shot["roman-numerals"]).toMatchObject({ passed: false, agent_status: "unparsable" });
    const baselineCalls = ollama.requests.filter((r) => r.body.tools === undefined);
    expect(baselineCalls).toHaveLength(4);

    // The files alone give the summary again, equal to the one written.
    const again = readResults(dir);
    expect(again.records).toEqual(records);
    const summary = readFileSync(join(dir, RESULT_FILES.summary), "utf8");
    expect(renderSummary(again.run, again.records)).toBe(summary);
    expect(summary).toContain("| agent | 4 | 25.0 % |");
    expect(summary).toContain("| single-shot | 4 | 25.0 % |");
    expect(summary).toMatch(/\| fix-bug \| 3 \| 33\.3 % \| 33\.3 % \|/);

    // compare: B is A with the passing task failed and the fumbled one passed.
    const b = join(tempDir(), "b");
    cpSync(dir, b, { recursive: true });
    const flipped = again.records.map((r) =>
      r.mode !== "agent"
        ? r
        : r.task === "fix-average-empty"
          ? { ...r, passed: false, verdict: "failed" }
          : r.task === "fix-off-by-one-pages"
            ? { ...r, passed: true, verdict: "passed" }
            : r,
    );
    writeResults(b, again.run, flipped);
    const out = renderComparison({ label: "A", ...again }, { label: "B", ...readResults(b) });
    expect(out).toContain("tasks that changed outcome (2):");
    expect(out).toMatch(/worse +agent +fix-average-empty: 1\/1 → 0\/1/);
    expect(out).toMatch(/better +agent +fix-off-by-one-pages: 0\/1 → 1\/1/);
    expect(out).toMatch(/agent +25\.0 % +25\.0 % +0\.0 pts/);
  });

  it("refuses a model the Ollama server does not have, before any task runs", async () => {
    const ollama = await fakeOllama();
    await expect(
      runEval({
        ...SETTINGS,
        tasks: "fix-average-empty",
        coderModel: "no-such-model",
        baseline: null,
        ollamaUrl: ollama.url,
        resultsDir: tempDir(),
      }),
    ).rejects.toThrow(/model 'no-such-model' not found/);
    expect(ollama.requests).toHaveLength(0);
  });

  it("counts an attempt the agent did not finish in time as a failed timeout", async () => {
    const ollama = await fakeOllama();
    ollama.script(CODER, () => ({ until: new Promise(() => undefined) })); // a model that never answers
    const { records } = await runEval({
      ...SETTINGS,
      tasks: "fix-average-empty",
      baseline: null,
      timeoutSeconds: 1,
      ollamaUrl: ollama.url,
      resultsDir: tempDir(),
    });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ mode: "agent", passed: false, verdict: "timeout" });
    expect(records[0]!.agent_status).toBe("failed: timeout");
  });

  it("fails a task whose hidden tests run past the grading time limit", async () => {
    const task = loadTasks(TASKS_DIR, "refactor-loop-to-comprehension")[0]!;
    const tree = tempDir();
    overlay(join(task.dir, "start"), tree);
    writeFileSync(join(tree, "listops.py"), "while True:\n    pass\n");
    const grader = { sandbox: sandboxAt(tree), workDir: tempDir(), timeoutMs: 1500 };
    expect(await gradeTree(task, tree, grader)).toMatchObject({ passed: false, verdict: "timeout" });
  });
});

describe.each(["bwrap", "builtin"] as const)("grading in the %s jail", (mode) => {
  const enabled = mode === "bwrap" ? hasBubblewrap() : hasBuiltinJail();
  it.runIf(enabled)(
    "passes the reference, fails the start, and the graded code cannot write outside its tree",
    { timeout: 120_000 },
    async () => {
      const task = loadTasks(TASKS_DIR, "fix-average-empty")[0]!;
      const outside = tempDir();
      const grade = async (code: string | null) => {
        const tree = tempDir();
        overlay(join(task.dir, "start"), tree);
        if (code !== null) writeFileSync(join(tree, "stats.py"), code);
        const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root: tree, mode, hidden: [] });
        return gradeTree(task, tree, { sandbox, workDir: tempDir(), timeoutMs: 120_000 });
      };
      const solved = readFileSync(join(task.dir, "solution", "stats.py"), "utf8");
      expect(await grade(solved)).toMatchObject({ passed: true });
      expect(await grade(null)).toMatchObject({ passed: false, verdict: "failed" });
      const breakOut = `open(${JSON.stringify(join(outside, "pwned"))}, "w").write("x")\n${solved}`;
      expect(await grade(breakOut)).toMatchObject({ passed: false });
      expect(existsSync(join(outside, "pwned"))).toBe(false);
    },
  );
});

describe("ollama-coder eval compare (the built CLI)", () => {
  it("prints two runs side by side with the tasks that changed outcome; a directory that is no run is exit 3", async () => {
    const run = {
      started_at: "2026-01-01T00:00:00.000Z",
      tasks: "*",
      task_count: 2,
      coder_model: CODER,
      reviewer_model: null,
      max_loops: 4,
      repeat: 1,
      baseline: null,
      ollama_url: "http://127.0.0.1:11434",
      sandbox: "off",
      job_id: null,
      wall_seconds: { agent: 1 },
    };
    const attempt = (task: string, passed: boolean) => ({
      task,
      kind: "fix-bug" as const,
      difficulty: "easy" as const,
      mode: "agent" as const,
      attempt: 1,
      passed,
      verdict: passed ? "passed" : "failed",
      detail: "",
      agent_status: "completed",
      loops: 2,
      model_calls: 2,
      tool_calls: 1,
      malformed_tool_calls: 0,
      tokens_in: 100,
      tokens_out: 20,
      seconds: 1,
      diff: "",
    });
    const a = tempDir();
    const b = tempDir();
    writeResults(a, run, [attempt("one", true), attempt("two", false)]);
    writeResults(b, { ...run, max_loops: 8 }, [attempt("one", true), attempt("two", true)]);
    const out = await runCli(["eval", "compare", a, b]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/agent +50\.0 % +100\.0 % +50\.0 pts/);
    expect(out.stdout).toContain("tasks that changed outcome (1):");
    expect(out.stdout).toMatch(/better +agent +two: 0\/1 → 1\/1/);
    expect(out.stdout).not.toMatch(/agent +one:/);
    const bad = await runCli(["eval", "compare", a, tempDir()]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(
      /is not an eval run \(give a directory that eval wrote.*\): it has no run\.json/,
    );
    expect(bad.stderr).not.toContain("ENOENT");
    const missing = await runCli(["eval", "compare", a, join(tempDir(), "nosuch")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/nosuch: no such directory/);
    writeFileSync(join(b, "results.jsonl"), "{not json\n");
    const garbled = await runCli(["eval", "compare", a, b]);
    expect(garbled.code).toBe(3);
    expect(garbled.stderr).toMatch(/results\.jsonl line 1 is not an attempt record: /);
  });
});
