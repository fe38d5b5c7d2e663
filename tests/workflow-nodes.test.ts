import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Reply, toolResults } from "./fixtures/fake-ollama.js";
import { fakeOllama } from "./helpers/agent-app.js";
import { freshDatabaseUrl, postgresAvailable } from "./helpers/backend.js";
import { startServerProcess } from "./helpers/server-process.js";
import { subDir, tempDir } from "./helpers/temp.js";
import { threeStepPipeline } from "./helpers/workflow-pipeline.js";

const CODER = "qwen2.5-coder:7b";

describe("a workflow across nodes on one PostgreSQL database (real processes)", async () => {
  const enabled = await postgresAvailable();

  it.runIf(enabled)(
    "an API node with no workers takes the workflow; a worker node runs its steps and resolves their inputs",
    async () => {
      const ollama = await fakeOllama([CODER]);
      ollama.script(
        CODER,
        (b): Reply =>
          toolResults(b).length === 0
            ? {
                toolCalls: [
                  { name: "write_file", arguments: { path: "lib.py", content: "y = 2\n" } },
                  {
                    name: "write_file",
                    arguments: { path: "test_lib.py", content: "def test_y():\n    pass\n" },
                  },
                ],
              }
            : { content: "Done." },
      );
      const dir = tempDir();
      const common = [
        "--database-url",
        freshDatabaseUrl(),
        "--project-root",
        subDir(dir, "p"),
        "--data-dir",
        join(dir, "d"),
        "--sandbox",
        "off",
        "--ollama-url",
        ollama.url,
      ];
      const api = await startServerProcess(["serve", "--port", "0", "--workers", "0", ...common]);
      await startServerProcess(["worker", "--workers", "2", ...common]);
      const res = await fetch(`${api.url}/batch/workflows`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(threeStepPipeline("nodes", "write lib.py and its test")),
      });
      expect(res.status).toBe(200);
      const { workflow_id } = (await res.json()) as { workflow_id: string };
      // The API node's stream follows the worker's progress (LISTEN/NOTIFY) to the end.
      const events = await fetch(`${api.url}/batch/workflows/${workflow_id}/events`).then((r) => r.text());
      const last = events
        .split("\n\n")
        .filter((m) => m.startsWith("event: "))
        .at(-1)!;
      expect(last.startsWith("event: completed\n")).toBe(true);
      const done = JSON.parse(last.split("data: ")[1]!);
      expect(done.steps.map((s: { id: string; total: number }) => [s.id, s.total])).toEqual([
        ["implement", 1],
        ["validate", 2],
        ["test", 1],
      ]);
    },
  );
});
