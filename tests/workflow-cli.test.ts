import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ChatBody, type Reply, toolResults } from "./fixtures/fake-ollama.js";
import { fakeOllama } from "./helpers/agent-app.js";
import { runCli, serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";
import { threeStepPipeline } from "./helpers/workflow-pipeline.js";

const CODER = "qwen2.5-coder:7b";

/** Writes two .py files and a .md, then ends its turn. */
const coder = (b: ChatBody): Reply =>
  toolResults(b).length === 0
    ? {
        toolCalls: [
          { name: "write_file", arguments: { path: "app.py", content: "x = 1\n" } },
          { name: "write_file", arguments: { path: "test_app.py", content: "def test_x():\n    pass\n" } },
          { name: "write_file", arguments: { path: "README.md", content: "# app\n" } },
        ],
      }
    : { content: "Done." };

describe("CLI: submit workflow, workflow get|cancel, through the built CLI against a real server", () => {
  it("submit workflow --wait follows every step to the end (exit 0), plain lines off a terminal; workflow get", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, coder);
    const dir = tempDir();
    const s = await startServerProcess(serveArgs(dir, "--sandbox", "off", "--ollama-url", ollama.url));
    const file = join(dir, "pipeline.json");
    writeFileSync(file, JSON.stringify(threeStepPipeline("app", "write app.py and its test")));
    const r = await runCli(["submit", "workflow", file, "--wait", "--server", s.url]);
    expect(r.stderr).toMatch(/submitted workflow-[0-9a-f]{12}/);
    expect(r.code, r.stderr).toBe(0);
    const id = /workflow-[0-9a-f]{12}/.exec(r.stderr)![0];
    expect(r.stdout).toContain(`${id} app completed (3/3 steps, 4/4 items)`);
    expect(r.stdout).toMatch(/ {2}validate: completed 2\/2 batch_validation-/);
    expect(r.stdout).toMatch(/ {2}test: completed 1\/1 batch_tests-/);

    const got = await runCli(["workflow", "get", id, "--json", "--server", s.url]);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ workflow_id: id, status: "completed" });
    const list = await runCli(["workflows", "--server", s.url]);
    expect(list.stdout).toContain(`${id} app completed`);
    // An ended workflow cannot be cancelled: exit 3 with the server's reason.
    const cancel = await runCli(["workflow", "cancel", id, "--server", s.url]);
    expect(cancel.code).toBe(3);
    expect(cancel.stderr).toMatch(/cannot be cancelled \(status: completed\)/);
    // A bad pipeline: the 422 names the step, exit 3.
    writeFileSync(file, JSON.stringify({ name: "bad", steps: [{ id: "a", type: "validation", body: {} }] }));
    const bad = await runCli(["submit", "workflow", file, "--server", s.url]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/step 'a'/);
  });
});
