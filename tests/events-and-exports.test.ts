import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { GateProcessor, noopProcessor } from "./fixtures/test-processors.js";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

async function readSse(
  url: string,
  headers: Record<string, string> = {},
  until?: (events: { event: string; data: any }[]) => boolean,
) {
  return (await openSse(url, headers, until)).done;
}

/**
 * Opens an SSE stream and resolves once the server has answered (its subscription is in place from then on);
 * `done` then collects the events until the stream ends or `until` holds.
 */
async function openSse(
  url: string,
  headers: Record<string, string> = {},
  until?: (events: { event: string; data: any }[]) => boolean,
) {
  const res = await fetch(url, { headers });
  return { done: collectSse(res, until) };
}

async function collectSse(res: Response, until?: (events: { event: string; data: any }[]) => boolean) {
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: { event: string; data: any }[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  let closedByServer = true;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let i = buffer.indexOf("\n\n");
    while (i >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const ev = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      i = buffer.indexOf("\n\n");
    }
    if (until?.(events)) {
      closedByServer = false;
      await reader.cancel();
      break;
    }
  }
  return { events, closedByServer };
}

describe("live events", () => {
  it("SSE for one job: several progress events (at most 4/s), item events, the final event, then the stream closes", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("gate", gate) });
    const res = await t.request("POST", "/batch/jobs", {
      type: "gate",
      items: Array.from({ length: 12 }, (_, i) => ({ id: `i${i}` })),
      parallel: 2,
    });
    const id = res.body.job_id;
    const stream = (await openSse(`${t.url}/batch/jobs/${id}/events`)).done; // listening before any item ends
    await gate.startedAtLeast(2);
    // Let items finish in steps so that progress moves while the stream watches.
    for (let step = 0; step < 6; step++) {
      gate.releaseWaiting();
      await t.app.events.waitFor("job:progress", (p) => p.jobId === id);
    }
    gate.release();
    const { events, closedByServer } = await stream;
    expect(closedByServer).toBe(true);
    const names = events.map((e) => e.event);
    expect(names.at(-1)).toBe("completed");
    expect(names.filter((n) => n === "progress").length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => n === "item")).toHaveLength(12);
    const final = events.at(-1)!.data;
    expect(final).toMatchObject({ job_id: id, status: "completed", progress: 100 });
    expect(final.result.results).toBeUndefined();
    const item = events.find((e) => e.event === "item")!.data;
    expect(item).toMatchObject({ job_id: id, status: "success" }); // the type's success word
    // Progress events are at least ~250 ms apart per job.
    const progressTimes = events
      .filter((e) => e.event === "progress")
      .map((e) => e.data.metadata.progress?.elapsed_seconds ?? 0);
    for (let i = 2; i < progressTimes.length; i++)
      expect(progressTimes[i]! - progressTimes[i - 1]!).toBeGreaterThanOrEqual(0.2);
  });

  it("SSE for a job that already ended sends the final event at once and closes; unknown jobs are 404", async () => {
    const t = await startTestApp({ register: (r) => r.register("noop", noopProcessor) });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: "a" }] });
    await waitForJobEnd(t, res.body.job_id);
    const { events, closedByServer } = await readSse(`${t.url}/batch/jobs/${res.body.job_id}/events`);
    expect(closedByServer).toBe(true);
    expect(events.map((e) => e.event)).toEqual(["completed"]);
    expect((await t.request("GET", "/batch/jobs/nope/events")).status).toBe(404);
  });

  it("GET /batch/events streams every job", async () => {
    const t = await startTestApp({ register: (r) => r.register("noop", noopProcessor) });
    const stream = (
      await openSse(
        `${t.url}/batch/events`,
        {},
        (evs) => evs.filter((e) => e.event === "completed").length === 2,
      )
    ).done; // the subscription is registered when the headers arrive
    const a = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: "a" }] });
    const b = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: "b" }] });
    const { events } = await stream;
    const done = events
      .filter((e) => e.event === "completed")
      .map((e) => e.data.job_id)
      .sort();
    expect(done).toEqual([a.body.job_id, b.body.job_id].sort());
  });

  it("WebSocket: subscribe to one job or all, same messages", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({ register: (r) => r.register("gate", gate) });
    const res = await t.request("POST", "/batch/jobs", { type: "gate", items: [{ id: "x" }, { id: "y" }] });
    const ws = new WebSocket(`${t.url.replace("http", "ws")}/batch/ws`);
    const messages: { event: string; data: any }[] = [];
    const finished = new Promise<void>((resolve) =>
      ws.on("message", (raw) => {
        const m = JSON.parse(raw.toString());
        messages.push(m);
        if (m.event === "completed") resolve();
      }),
    );
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ subscribe: res.body.job_id }));
    await expect.poll(() => messages.some((m) => m.event === "progress")).toBe(true);
    gate.release();
    await finished;
    ws.close();
    expect(messages[0]).toEqual({ event: "subscribed", data: { job_id: res.body.job_id } });
    expect(
      messages
        .filter((m) => m.event === "item")
        .map((m) => m.data.id)
        .sort(),
    ).toEqual(["x", "y"]);
    expect(messages.at(-1)?.data.status).toBe("completed");
  });
});

/** curl -X POST …/retry -H 'content-type: application/json': a body-less POST still says it is JSON. */
const JSON_NO_BODY = { "content-type": "application/json" };

describe("items, exports and retry", () => {
  it("items are paginated with a total, filterable, failed first", async () => {
    const gate = new GateProcessor();
    gate.release();
    const t = await startTestApp({ register: (r) => r.register("gate", gate) });
    const items = Array.from({ length: 30 }, (_, i) => ({
      id: `i${i}`,
      ...(i % 10 === 9 ? { fail: true } : {}),
    }));
    const res = await t.request("POST", "/batch/jobs", { type: "gate", items });
    await waitForJobEnd(t, res.body.job_id);
    const page = await t.request("GET", `/batch/jobs/${res.body.job_id}/items?limit=10&offset=10`);
    expect(page.body.total).toBe(30);
    expect(page.body.items.map((i: { id: string }) => i.id)).toEqual(
      Array.from({ length: 10 }, (_, k) => `i${10 + k}`),
    );
    expect(page.body.items[0]).toMatchObject({
      seq: 10,
      status: "success",
      attempts: 1,
      item: { id: "i10" },
      result: { status: "success" },
    });
    const failed = await t.request("GET", `/batch/jobs/${res.body.job_id}/items?status=failed`);
    expect(failed.body).toMatchObject({ total: 3 });
    // Every success word selects the items that succeeded, whatever the job's type says on success.
    for (const word of ["success", "passed", "completed", "succeeded", "successful"]) {
      const ok = await t.request("GET", `/batch/jobs/${res.body.job_id}/items?status=${word}&limit=1`);
      expect([word, ok.status, ok.body.total]).toEqual([word, 200, 27]);
    }
    const bogus = await t.request("GET", `/batch/jobs/${res.body.job_id}/items?status=error`);
    expect(bogus.status).toBe(422);
    const first = await t.request("GET", `/batch/jobs/${res.body.job_id}/items?failed_first=true&limit=4`);
    expect(first.body.items.map((i: { id: string }) => i.id)).toEqual(["i9", "i19", "i29", "i0"]);
    expect((await t.request("GET", `/batch/jobs/${res.body.job_id}/items?limit=0`)).status).toBe(422);
  });

  it("results.jsonl streams every result of a large job as JSON lines, with bounded server memory", async () => {
    const dir = tempDir();
    // A server whose heap cannot hold the export: it must stream it.
    const server = await startServerProcess(serveArgs(dir), { NODE_OPTIONS: "--max-old-space-size=64" });
    const n = 40_000;
    const submit = await fetch(`${server.url}/batch/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        type: "test_echo",
        items: Array.from({ length: n }, (_, i) => ({ id: `item-${i}` })),
        options: { output_bytes: 2500 },
        chunk_size: 1000,
        parallel: 16,
      }),
    });
    const { job_id } = (await submit.json()) as { job_id: string };
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${server.url}/batch/jobs/${job_id}?include_results=false`)).json()) as any)
            .status,
        {
          timeout: 60_000,
          interval: 100,
        },
      )
      .toBe("completed");
    const rss = () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1]) * 1024;
    const before = rss();
    let peak = before;
    const out = await fetch(`${server.url}/batch/jobs/${job_id}/results.jsonl`);
    expect(out.headers.get("content-type")).toMatch(/application\/x-ndjson/);
    let lines = 0;
    let bytes = 0;
    let rest = "";
    let firstLine: any = null;
    const decoder = new TextDecoder();
    for await (const chunk of out.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
      rest = parts.pop() ?? "";
      lines += parts.length;
      if (!firstLine && parts[0]) firstLine = JSON.parse(parts[0]);
      peak = Math.max(peak, rss());
    }
    expect(lines).toBe(n);
    expect(firstLine).toMatchObject({ id: "item-0", status: "success", id_seen: "item-0" });
    expect(bytes).toBeGreaterThan(n * 2500); // > 100 MB of JSON lines from a server with a 64 MB heap …
    expect(peak - before).toBeLessThan(bytes / 2); // … that never sat in its memory at once
    expect(server.child.exitCode).toBeNull();
  });

  it("retry submits the failed items as a new job with the same options, linked both ways", async () => {
    const gate = new GateProcessor();
    gate.release();
    const t = await startTestApp({ register: (r) => r.register("batch_agent_tasks", gate) });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [
        { id: "a", description: "fine" },
        { id: "b", description: "fail please" },
        { id: "c", description: "fail too" },
      ],
      max_loops: 7,
      parallel: 2,
    });
    await waitForJobEnd(t, res.body.job_id);
    const retry = await t.request("POST", `/batch/jobs/${res.body.job_id}/retry`, undefined, JSON_NO_BODY);
    expect(retry.status).toBe(200);
    expect(retry.body.metadata).toEqual({ total_tasks: 2, retry_of: res.body.job_id });
    const newJob = await t.app.store.getJob(retry.body.job_id);
    expect(newJob?.options).toMatchObject({ max_loops: 7 });
    expect(newJob?.parallel).toBe(2);
    const items = (await t.app.store.listItems(retry.body.job_id, { limit: 10, offset: 0 })).items.map(
      (i) => i.payload,
    );
    expect(items).toEqual([
      { id: "b", description: "fail please" },
      { id: "c", description: "fail too" },
    ]);
    const old = await t.request("GET", `/batch/jobs/${res.body.job_id}?include_results=false`);
    expect(old.body.metadata.retried_by).toEqual([retry.body.job_id]);
    await waitForJobEnd(t, retry.body.job_id);
    const none = await t.request("POST", `/batch/jobs/${res.body.job_id}/retry`, undefined, JSON_NO_BODY);
    expect(none.status).toBe(200); // still has failed items: a second retry is allowed
    const ok = await t.request("POST", "/batch/agent-tasks", { tasks: [{ description: "fine" }] });
    await waitForJobEnd(t, ok.body.job_id);
    expect(
      (await t.request("POST", `/batch/jobs/${ok.body.job_id}/retry`, undefined, JSON_NO_BODY)).body,
    ).toEqual({
      detail: "Job has no failed items to retry",
    });
  });
});

describe("metrics", () => {
  it("GET /metrics answers Prometheus text with jobs, items, durations, queue depth and busy workers", async () => {
    const t = await startTestApp({ register: (r) => r.register("noop", noopProcessor) });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: "a" }, { id: "b" }] });
    await waitForJobEnd(t, res.body.job_id);
    await t.request("POST", "/batch/validation", { targets: [{ path: "x" }] });
    const m = await t.request("GET", "/metrics");
    expect(m.status).toBe(200);
    expect(m.headers.get("content-type")).toMatch(/text\/plain/);
    expect(m.text).toMatch(/^ollama_coder_jobs\{status="completed"\} 1$/m);
    expect(m.text).toMatch(/^ollama_coder_items_total\{type="noop",status="succeeded"\} 2$/m);
    expect(m.text).toMatch(/^ollama_coder_item_duration_seconds_count\{type="noop"\} 2$/m);
    expect(m.text).toMatch(/^ollama_coder_queue_depth \d+$/m);
    expect(m.text).toMatch(/^ollama_coder_busy_workers \d+$/m);
    expect(m.text).toContain("# TYPE ollama_coder_model_request_duration_seconds histogram");
    expect(m.text).toContain("# TYPE ollama_coder_model_tokens_total counter");
  });
});
