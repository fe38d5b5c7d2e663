import { describe, expect, it } from "vitest";
import { type ChatBody, type Reply, toolResults, userTask } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { tempDir } from "./helpers/temp.js";
import { waitForJobEnd } from "./helpers/test-app.js";

const CODER = "qwen2.5-coder:7b";
const REVIEWER = "llama3.2";

/** A coder that writes `<task>.txt` (100 tokens in, 20 out a call), then ends its turn. */
const coder =
  (hold: { task: string | null }) =>
  (b: ChatBody): Reply => {
    const task = userTask(b).includes("task B") ? "b" : "a";
    if (hold.task === task) return { content: "…", delayMs: 600_000 };
    if (toolResults(b).length === 0)
      return { toolCalls: [{ name: "write_file", arguments: { path: `${task}.txt`, content: task } }] };
    return { content: `Wrote ${task}.txt.` };
  };
/** A reviewer that approves (70 tokens in, 7 out). */
const reviewer = (): Reply => ({
  toolCalls: [{ name: "approve", arguments: { summary: "ok" } }],
  promptTokens: 70,
  evalTokens: 7,
});

const submit = {
  tasks: [
    { id: "a", description: "Write a.txt (task A)" },
    { id: "b", description: "Write b.txt (task B)" },
  ],
  check_command: "true",
  reviewer_model: REVIEWER,
  parallel: 1,
  chunk_size: 1,
};

/** Both tasks: two coder calls and one reviewer call each (the fake reports 1.5 s per call). */
const BOTH = {
  [CODER]: { calls: 4, prompt_tokens: 400, completion_tokens: 80, seconds: 6 },
  [REVIEWER]: { calls: 2, prompt_tokens: 140, completion_tokens: 14, seconds: 3 },
};

describe("summary.usage: tokens and model seconds per model for agent jobs", () => {
  it("totals every task's usage by model, coder and reviewer apart, and each task keeps its own", async () => {
    const ollama = await fakeOllama([CODER, REVIEWER]);
    ollama.script(CODER, coder({ task: null })).script(REVIEWER, reviewer);
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", submit);
    expect(res.status).toBe(200);
    await waitForJobEnd(t, res.body.job_id);
    const done = await t.request("GET", `/batch/jobs/${res.body.job_id}`);
    expect(done.body.status).toBe("completed");
    expect(done.body.result.summary.usage).toEqual(BOTH);
    for (const r of done.body.result.results)
      expect(r.usage).toEqual({
        [CODER]: { calls: 2, prompt_tokens: 200, completion_tokens: 40, seconds: 3 },
        [REVIEWER]: { calls: 1, prompt_tokens: 70, completion_tokens: 7, seconds: 1.5 },
      });
    // The same totals without the results, in the list, and in the stream's final event's answer.
    const bare = await t.request("GET", `/batch/jobs/${res.body.job_id}?include_results=false`);
    expect(bare.body.result.summary.usage).toEqual(BOTH);
    const list = await t.request("GET", "/batch/jobs?job_type=batch_agent_tasks");
    expect(list.body.jobs[0].result.summary.usage).toEqual(BOTH);
    const events = await fetch(`${t.url}/batch/jobs/${res.body.job_id}/events`).then((r) => r.text());
    const final = events.split("\n\n").find((m) => m.startsWith("event: completed"));
    expect(JSON.parse(final!.split("data: ")[1]!).result.summary.usage).toEqual(BOTH);
  });

  it("a job stopped mid-way and resumed by a new process counts what ran before and after", async () => {
    const ollama = await fakeOllama([CODER, REVIEWER]);
    const hold = { task: "b" as string | null };
    ollama.script(CODER, coder(hold)).script(REVIEWER, reviewer);
    const dir = tempDir();
    const first = await agentApp(ollama.url, { graceSeconds: 0.2 }, dir);
    const res = await first.t.request("POST", "/batch/agent-tasks", submit);
    // Task A ends; task B's first model call hangs, and the server stops under it (B goes back to the queue).
    await ollama.waitForRequest((s) => userTask(s.body).includes("task B"));
    expect((await first.t.request("GET", `/batch/jobs/${res.body.job_id}`)).body.status).toBe("running");
    await first.t.app.stop();
    hold.task = null;
    const second = await agentApp(ollama.url, {}, dir);
    await waitForJobEnd(second.t, res.body.job_id);
    const done = await second.t.request("GET", `/batch/jobs/${res.body.job_id}`);
    expect(done.body.status).toBe("completed");
    // The call cut off by the stop never answered, so it counts nowhere.
    expect(done.body.result.summary.usage).toEqual(BOTH);
  });

  it("with attempts above 1 a task's usage counts every try, and each try shows its own", async () => {
    const ollama = await fakeOllama([CODER]);
    // No try ever solves it (the check always fails), so both run to their end.
    ollama.script(CODER, () => ({ content: "I am done." }));
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "t1", description: "Impossible" }],
      attempts: 2,
      isolation: "copy",
      reviewer_model: null,
      check_command: "false",
      max_loops: 2,
    });
    expect(res.status).toBe(200);
    await waitForJobEnd(t, res.body.job_id);
    const done = await t.request("GET", `/batch/jobs/${res.body.job_id}`);
    const r = done.body.result.results[0];
    expect(r.tries.map((x: { outcome: string }) => x.outcome)).toEqual(["failed", "failed"]);
    const perTry = r.tries.map((x: { usage: Record<string, { calls: number }> }) => x.usage[CODER]!.calls);
    expect(perTry.every((n: number) => n > 0)).toBe(true);
    const calls = perTry[0] + perTry[1];
    expect(calls).toBe(ollama.requests.length);
    expect(r.usage).toEqual({
      [CODER]: { calls, prompt_tokens: 100 * calls, completion_tokens: 20 * calls, seconds: 1.5 * calls },
    });
    expect(done.body.result.summary.usage).toEqual(r.usage);
  });

  it("a try stopped because another succeeded still counts the calls it made", async () => {
    const ollama = await fakeOllama([CODER]);
    let open = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const never = new Promise<void>(() => {});
    // Try 1 writes a file, then its second call hangs; try 2 (seed 2) waits for that, then finishes first.
    ollama.script(CODER, (b) => {
      const second = toolResults(b).length > 0;
      if (b.options?.seed === 2)
        return second
          ? { content: "Done." }
          : { until: gate, toolCalls: [{ name: "write_file", arguments: { path: "x.txt", content: "2" } }] };
      return second
        ? { until: never, content: "…" }
        : { toolCalls: [{ name: "write_file", arguments: { path: "x.txt", content: "1" } }] };
    });
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "t1", description: "Write x.txt" }],
      attempts: 2,
      isolation: "copy",
      reviewer_model: null,
      check_command: "true",
    });
    expect(res.status).toBe(200);
    await ollama.waitForRequest((s) => s.body.options?.seed === undefined && toolResults(s.body).length > 0);
    open();
    await waitForJobEnd(t, res.body.job_id);
    const r = (await t.request("GET", `/batch/jobs/${res.body.job_id}`)).body.result.results[0];
    expect(r.status).toBe("completed");
    const one = { calls: 1, prompt_tokens: 100, completion_tokens: 20, seconds: 1.5 };
    const two = { calls: 2, prompt_tokens: 200, completion_tokens: 40, seconds: 3 };
    expect(r.tries.map((x: { outcome: string; usage: unknown }) => [x.outcome, x.usage])).toEqual([
      ["cancelled", { [CODER]: one }],
      ["chosen", { [CODER]: two }],
    ]);
    expect(r.usage).toEqual({
      [CODER]: { calls: 3, prompt_tokens: 300, completion_tokens: 60, seconds: 4.5 },
    });
  });

  it("a task that times out reports the calls it made before", async () => {
    const ollama = await fakeOllama([CODER]);
    ollama.script(CODER, (b) =>
      toolResults(b).length > 0
        ? { until: new Promise(() => {}), content: "…" }
        : { toolCalls: [{ name: "write_file", arguments: { path: "x.txt", content: "x" } }] },
    );
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "t1", description: "Write x.txt" }],
      reviewer_model: null,
      check_command: "true",
      timeout_seconds: 2,
      retry: { max_attempts: 1 }, // one try: its usage is the task's
    });
    await waitForJobEnd(t, res.body.job_id);
    const done = (await t.request("GET", `/batch/jobs/${res.body.job_id}`)).body;
    expect(done.result.results[0]).toMatchObject({ status: "failed", error: "task timed out after 2 s" });
    const one = { [CODER]: { calls: 1, prompt_tokens: 100, completion_tokens: 20, seconds: 1.5 } };
    expect(done.result.results[0].usage).toEqual(one);
    expect(done.result.summary.usage).toEqual(one);
  });
});
