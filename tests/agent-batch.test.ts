import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ChatBody, lastMessage, type Reply, toolResults, userTask } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { waitForJobEnd } from "./helpers/test-app.js";

/** A coder that writes `file` with `content` (natively), then ends its turn. */
function writerCoder(file: (b: ChatBody) => string, content: (b: ChatBody) => string) {
  return (b: ChatBody): Reply => {
    if (toolResults(b).length === 0)
      return { toolCalls: [{ name: "write_file", arguments: { path: file(b), content: content(b) } }] };
    return { content: `Created ${file(b)}.` };
  };
}

const approve: Reply = { toolCalls: [{ name: "approve", arguments: { summary: "Looks right." } }] };
const checkFile = (name: string) =>
  `python3 -c "import os,sys; sys.exit(0 if os.path.exists('${name}') else 1)"`;

describe("agent tasks through POST /batch/agent-tasks (fake Ollama)", () => {
  it("hello world end to end: coder writes, the check passes, the reviewer approves", async () => {
    const ollama = await fakeOllama();
    ollama.script(
      "qwen2.5-coder:7b",
      writerCoder(
        () => "hello.py",
        () => 'print("Hello World")\n',
      ),
    );
    ollama.script("llama3.2", () => approve);
    const { t, root } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "task1", description: "Create hello.py that prints Hello World" }],
      check_command: "python3 hello.py",
    });
    expect(res.status).toBe(200);
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("completed");
    const r = done.result.results[0];
    expect(r).toMatchObject({
      id: "task1",
      description: "Create hello.py that prints Hello World",
      status: "completed",
      validator_ok: true,
      approved: true,
      loops: 3,
      files_changed: ["hello.py"],
      check: { command: "python3 hello.py", passed: true, exit_code: 0, output: "Hello World" },
      review: "Looks right.",
    });
    expect(r.diff).toContain("+++ b/hello.py");
    expect(r.diff).toContain('+print("Hello World")');
    expect(r.usage["qwen2.5-coder:7b"]).toEqual({
      calls: 2,
      prompt_tokens: 200,
      completion_tokens: 40,
      seconds: 3,
    });
    expect(r.usage["llama3.2"]).toMatchObject({ calls: 1, prompt_tokens: 100 });
    expect(r.transcript.map((e: { role: string }) => e.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "assistant",
      "check",
      "reviewer",
    ]);
    expect(readFileSync(join(root, "hello.py"), "utf8")).toBe('print("Hello World")\n');
    // Tool results went back as role "tool" with the tool's name; the reviewer saw the diff and the check output.
    const second = ollama.requests.filter((s) => s.model === "qwen2.5-coder:7b")[1]!.body;
    expect(toolResults(second)[0]).toMatchObject({
      role: "tool",
      tool_name: "write_file",
      content: "wrote 21 bytes to hello.py",
    });
    const reviewerPrompt = lastMessage(ollama.requests.find((s) => s.model === "llama3.2")!.body).content;
    expect(reviewerPrompt).toContain('+print("Hello World")');
    expect(reviewerPrompt).toContain("Hello World");
    expect(ollama.requests[0]!.body.tools?.map((x) => x.function.name)).toEqual([
      "read_file",
      "write_file",
      "list_files",
      "run_command",
    ]);
  });

  it("accepts a tool call written as JSON text in a fenced block", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b) =>
      toolResults(b).length === 0
        ? {
            content:
              'I will create the file.\n```json\n{"name": "write_file", "arguments": {"path": "a.txt", "content": "A"}}\n```',
          }
        : { content: "Done." },
    );
    const { t, root } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "make a.txt" }],
      check_command: checkFile("a.txt"),
      reviewer_model: null,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0]).toMatchObject({
      status: "completed",
      approved: true,
      loops: 2,
      files_changed: ["a.txt"],
    });
    expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("A");
  });

  it("a guardrail-blocked call goes back to the model, which recovers", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b) => {
      const results = toolResults(b);
      if (results.length === 0)
        return { toolCalls: [{ name: "run_command", arguments: { command: "rm -rf /" } }] };
      if (results.length === 1)
        return { toolCalls: [{ name: "write_file", arguments: { path: "ok.txt", content: "fine" } }] };
      return { content: "Recovered." };
    });
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "clean up" }],
      check_command: checkFile("ok.txt"),
      reviewer_model: null,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    const r = done.result.results[0];
    expect(r.status).toBe("completed");
    const blocked = toolResults(ollama.requests[1]!.body)[0]!;
    expect(blocked.content).toMatch(/^SECURITY BLOCK: .*rm -rf/);
    expect(r.transcript.find((e: { role: string }) => e.role === "tool").content).toMatch(/SECURITY BLOCK/);
  });

  it("a failing check goes back to the coder with its output and is fixed on the next loop", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b) => {
      const last = lastMessage(b);
      if (toolResults(b).length === 0)
        return {
          toolCalls: [{ name: "write_file", arguments: { path: "calc.py", content: "print(1/0)\n" } }],
        };
      if (last.role === "user" && last.content.includes("failed")) {
        expect(last.content).toContain("ZeroDivisionError");
        return {
          toolCalls: [{ name: "write_file", arguments: { path: "calc.py", content: "print(1/1)\n" } }],
        };
      }
      return { content: "Done." };
    });
    ollama.script("llama3.2", () => approve);
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "calc" }],
      check_command: "python3 calc.py",
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    const r = done.result.results[0];
    expect(r).toMatchObject({ status: "completed", validator_ok: true, approved: true, loops: 5 });
    expect(
      r.transcript
        .filter((e: { role: string }) => e.role === "check")
        .map((e: { content: string }) => e.content.slice(0, 6)),
    ).toEqual(["failed", "passed"]);
  });

  it("a reviewer that requests changes once; its feedback reaches the coder", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b) => {
      const last = lastMessage(b);
      if (last.role === "user" && last.content.startsWith("The reviewer requested changes"))
        return {
          toolCalls: [
            { name: "write_file", arguments: { path: "greet.py", content: "print('Hello, World!')\n" } },
          ],
        };
      if (toolResults(b).length === 0)
        return {
          toolCalls: [{ name: "write_file", arguments: { path: "greet.py", content: "print('hi')\n" } }],
        };
      return { content: "Done." };
    });
    ollama.script("llama3.2", (_b, n) =>
      n === 1
        ? {
            toolCalls: [
              { name: "request_changes", arguments: { feedback: "Print exactly 'Hello, World!'" } },
            ],
          }
        : approve,
    );
    const { t, root } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "greet" }],
      check_command: "python3 greet.py",
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0]).toMatchObject({ status: "completed", approved: true, loops: 6 });
    const fixTurn = ollama.requests.filter((s) => s.model === "qwen2.5-coder:7b")[2]!.body;
    expect(lastMessage(fixTurn).content).toContain("Print exactly 'Hello, World!'");
    expect(readFileSync(join(root, "greet.py"), "utf8")).toBe("print('Hello, World!')\n");
  });

  it("max_loops exhaustion fails the task with a clear error", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", () => ({
      toolCalls: [{ name: "list_files", arguments: { path: "." } }],
    }));
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "busy", description: "loop forever" }],
      max_loops: 3,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("failed");
    expect(done.result.results[0]).toMatchObject({
      id: "busy",
      status: "failed",
      loops: 3,
      validator_ok: false,
      approved: false,
    });
    expect(done.result.results[0].error).toMatch(/max_loops \(3\) reached/);
    expect(ollama.requests).toHaveLength(3);
  });

  it("a malformed text tool call gets a corrective message and counts as a loop", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b) => {
      const n = b.messages.filter((m) => m.role === "assistant").length;
      if (n === 0)
        return { content: '<tool_call>{"name": "write_file", "arguments": {"path": "x.txt", </tool_call>' };
      if (n === 1) return { content: '{"name": "delete_everything", "arguments": {}}' };
      if (toolResults(b).length === 0)
        return {
          content: '<tool_call>{"name": "write_file", "args": {"path": "x.txt", "content": "x"}}</tool_call>',
        };
      return { content: "Done." };
    });
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "x" }],
      check_command: checkFile("x.txt"),
      reviewer_model: null,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0]).toMatchObject({ status: "completed", loops: 4 });
    expect(lastMessage(ollama.requests[1]!.body).content).toMatch(
      /^Your tool call could not be used: your tool call is not valid JSON/,
    );
    expect(lastMessage(ollama.requests[2]!.body).content).toMatch(/unknown tool 'delete_everything'/);
  });

  it("cancel mid-request aborts the HTTP request to the model at once", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", () => ({ content: "thinking…", delayMs: 60_000 }));
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", { tasks: [{ description: "slow" }] });
    const inFlight = await ollama.waitForRequest((s) => s.model === "qwen2.5-coder:7b");
    const t0 = performance.now();
    expect((await t.request("DELETE", `/batch/jobs/${res.body.job_id}`)).status).toBe(200);
    await expect.poll(() => inFlight.aborted, { timeout: 5000 }).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2000);
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("cancelled");
    expect(done.result.results[0]).toMatchObject({ status: "cancelled" });
  });

  it("a missing model is refused at submit, naming the fix (before: the job failed when it started)", async () => {
    const ollama = await fakeOllama(["qwen2.5-coder:7b"]);
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }, { description: "b" }],
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      {
        loc: ["body", "reviewer_model"],
        msg: `model 'llama3.2' not found on ${ollama.url}; available: qwen2.5-coder:7b; run \`ollama pull llama3.2\``,
        type: "value_error.model",
      },
    ]);
    expect(ollama.requests).toHaveLength(0);
  });

  it("a model gone between submit and start fails the job before any task runs, naming the fix", async () => {
    const ollama = await fakeOllama(["qwen2.5-coder:7b", "llama3.2:latest"]);
    const { t } = await agentApp(ollama.url, { workers: 0 });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }, { description: "b" }],
    });
    expect(res.status).toBe(200);
    ollama.models = ["qwen2.5-coder:7b"];
    await t.app.stop(); // the same data dir, now with workers
    const { t: worker } = await agentApp(ollama.url, {}, t.app.config.dataDir.replace(/\/data$/, ""));
    const done = await waitForJobEnd(worker, res.body.job_id);
    expect(done.status).toBe("failed");
    expect(done.error).toBe(`model 'llama3.2' not found on ${ollama.url}; run \`ollama pull llama3.2\``);
    expect(ollama.requests).toHaveLength(0);
    expect(done.result.summary).toMatchObject({ total: 2, failed: 2 });
  });

  it("a check program that is not there fails the job before any task runs, saying how to fix it", async () => {
    const ollama = await fakeOllama();
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }, { description: "b" }],
      check_command: "no-such-checker-xyz -q",
    });
    expect(res.status).toBe(200);
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(
      /^check_command program 'no-such-checker-xyz' not found .*no item was run\. Fix: install no-such-checker-xyz .*, or set check_command to a program that is installed$/,
    );
    expect(ollama.requests).toHaveLength(0); // no task asked the model anything
  });

  it("an unreachable Ollama fails the job naming the URL", async () => {
    const ollama = await fakeOllama();
    const url = ollama.url;
    await ollama.close();
    const { t } = await agentApp(url);
    const res = await t.request("POST", "/batch/agent-tasks", { tasks: [{ description: "a" }] });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.error).toMatch(
      new RegExp(`cannot connect to Ollama at ${url.replace(/\./g, "\\.")} \\(connection refused\\)`),
    );
  });

  it("503 busy is answered with retries; a mid-stream error line fails the task with Ollama's message", async () => {
    const ollama = await fakeOllama();
    ollama.script("qwen2.5-coder:7b", (b, n) => {
      if (userTask(b) === "stream-error") return { content: "partial", streamError: "model runner crashed" };
      if (n <= 2) return { status: 503 };
      return toolResults(b).length === 0
        ? { toolCalls: [{ name: "write_file", arguments: { path: "b.txt", content: "b" } }] }
        : { content: "done" };
    });
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "busy" }],
      check_command: checkFile("b.txt"),
      reviewer_model: null,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0]).toMatchObject({ status: "completed", loops: 2 });
    expect(ollama.requests.filter((s) => s.model === "qwen2.5-coder:7b").length).toBe(4);
    const res2 = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "stream-error" }],
      reviewer_model: null,
    });
    const done2 = await waitForJobEnd(t, res2.body.job_id);
    expect(done2.result.results[0].error).toBe(`Ollama at ${ollama.url} reported: model runner crashed`);
  });

  it("two hosts share the load; the per-host concurrency limit holds across all jobs", async () => {
    const a = await fakeOllama();
    const b = await fakeOllama();
    for (const f of [a, b]) {
      f.script("qwen2.5-coder:7b", (body) =>
        toolResults(body).length === 0
          ? {
              delayMs: 40,
              toolCalls: [
                { name: "write_file", arguments: { path: `out/${userTask(body)}.txt`, content: "x" } },
              ],
            }
          : { delayMs: 40, content: "done" },
      );
    }
    const { t } = await agentApp(`${a.url},${b.url}`, { ollamaMaxConcurrency: 2 });
    const tasks = Array.from({ length: 12 }, (_, i) => ({ id: `t${i}`, description: `task${i}` }));
    const jobs = await Promise.all([
      t.request("POST", "/batch/agent-tasks", {
        tasks: tasks.slice(0, 6),
        parallel: 6,
        reviewer_model: null,
        check_command: "true",
      }),
      t.request("POST", "/batch/agent-tasks", {
        tasks: tasks.slice(6),
        parallel: 6,
        reviewer_model: null,
        check_command: "true",
      }),
    ]);
    for (const j of jobs) expect((await waitForJobEnd(t, j.body.job_id)).status).toBe("completed");
    expect(a.requests.length + b.requests.length).toBe(24);
    expect(a.requests.length).toBeGreaterThanOrEqual(6);
    expect(b.requests.length).toBeGreaterThanOrEqual(6);
    expect(a.maxInFlight).toBe(2);
    expect(b.maxInFlight).toBe(2);
  });

  it("apply_changes: false keeps the files as they were and still reports the diff", async () => {
    const ollama = await fakeOllama();
    ollama.script(
      "qwen2.5-coder:7b",
      writerCoder(
        () => "keep.txt",
        () => "new\n",
      ),
    );
    const { t, root } = await agentApp(ollama.url);
    writeFileSync(join(root, "keep.txt"), "old\n");
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "edit" }],
      reviewer_model: null,
      check_command: "true",
      apply_changes: false,
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results[0].diff).toContain("-old\n+new");
    expect(readFileSync(join(root, "keep.txt"), "utf8")).toBe("old\n");
  });

  it("the 'Batch Process 1000 Coding Tasks' client pattern (with 20) and the README's recovery recipe run unchanged", async () => {
    const ollama = await fakeOllama();
    let stubborn = true; // on the first run, tasks 3, 10 and 17 never finish (max_loops); on the retry they do
    const writer = writerCoder(
      (b) => `function_${/function_(\d+)/.exec(userTask(b))![1]}.py`,
      (b) =>
        `def function_${/returns (\d+)/.exec(userTask(b))![1]}():\n    return ${/returns (\d+)/.exec(userTask(b))![1]}\n`,
    );
    ollama.script("qwen2.5-coder:7b", (b) => {
      const i = Number(/returns (\d+)/.exec(userTask(b))![1]);
      if (stubborn && i % 7 === 3) return { toolCalls: [{ name: "list_files", arguments: { path: "." } }] };
      return writer(b);
    });
    ollama.script("llama3.2", () => approve);
    const { t, root } = await agentApp(ollama.url);
    // A Python client's loop, in TypeScript, against the real HTTP API.
    const tasks = Array.from({ length: 20 }, (_, i) => ({
      id: `task-${i}`,
      description: `Create function_${i}.py with a function that returns ${i}`,
    }));
    const submit = await fetch(`${t.url}/batch/agent-tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tasks, chunk_size: 50, parallel: 5, check_command: "true", max_loops: 4 }),
    });
    const jobId = ((await submit.json()) as { job_id: string }).job_id;
    let job: any;
    for (;;) {
      // Listen before looking: the job may end between the look and the wait, with no progress after it.
      const news = Promise.race([
        t.app.events.waitFor("job:progress"),
        t.app.events.waitFor("job:finished", (p) => p.jobId === jobId),
      ]);
      job = await (await fetch(`${t.url}/batch/jobs/${jobId}`)).json();
      if (["completed", "failed", "cancelled"].includes(job.status)) break;
      await news;
    }
    expect(job.status).toBe("failed");
    expect(job.result.summary).toMatchObject({ total: 20, successful: 17, failed: 3 });
    expect(typeof job.result.elapsed_seconds).toBe("number");
    // Error recovery, verbatim: take the failed results and resubmit them as tasks.
    const failedItems = job.result.results.filter((r: { status: string }) => r.status === "failed");
    expect(failedItems.map((r: { id: string }) => r.id)).toEqual(["task-3", "task-10", "task-17"]);
    stubborn = false;
    const retry = await fetch(`${t.url}/batch/agent-tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tasks: failedItems }),
    });
    expect(retry.status).toBe(200);
    const second = (await retry.json()) as { job_id: string; metadata: { total_tasks: number } };
    expect(second.metadata.total_tasks).toBe(3);
    const fixed = await waitForJobEnd(t, second.job_id);
    expect(fixed.status).toBe("completed");
    expect(fixed.result.results.map((r: { id: string }) => r.id)).toEqual(["task-3", "task-10", "task-17"]);
    expect(readFileSync(join(root, "function_17.py"), "utf8")).toBe("def function_17():\n    return 17\n");
  });
});
