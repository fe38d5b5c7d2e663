import { describe, expect, it } from "vitest";
import { GateProcessor, noopProcessor } from "./fixtures/test-processors.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const JOB_KEYS = [
  "job_id",
  "job_type",
  "status",
  "priority",
  "progress",
  "result",
  "error",
  "created_at",
  "started_at",
  "completed_at",
  "depends_on",
  "waiting_for",
  "workflow_id",
  "metadata",
];
const PROGRESS_KEYS = [
  "total",
  "processed",
  "successful",
  "failed",
  "skipped",
  "percentage",
  "elapsed_seconds",
  "items_per_second",
  "estimated_remaining_seconds",
  "current_item",
];

const registerAll = (registry: import("../src/queue/processor.js").ProcessorRegistry) => {
  for (const t of ["batch_agent_tasks", "batch_validation", "batch_tests", "batch_mcp", "noop"])
    registry.register(t, noopProcessor);
};

describe("REST contract (README: API overview)", () => {
  it("accepts the README's quick-start submission and answers a queued JobResponse", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [
        { id: "task1", description: "Create hello.py that prints Hello World" },
        { id: "task2", description: "Add unit tests for hello.py" },
      ],
      parallel: 3,
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([...JOB_KEYS].sort());
    expect(res.body.job_id).toMatch(/^batch_agent_tasks-[0-9a-f]{12}$/);
    expect(res.body).toMatchObject({
      status: "queued",
      priority: 0,
      progress: 0,
      result: null,
      error: null,
      metadata: { total_tasks: 2 },
    });
    expect(typeof res.body.created_at).toBe("number");
    expect(Math.abs(res.body.created_at - Date.now() / 1000)).toBeLessThan(60);
    const job = await t.app.store.getJob(res.body.job_id);
    expect(job).toMatchObject({ chunkSize: 10, parallel: 3 });
    expect(job?.options).toEqual({
      check_command: "pytest -q",
      max_loops: 16,
      coder_model: "qwen2.5-coder:7b",
      reviewer_model: "llama3.2",
      apply_changes: true,
      attempts: 1,
    });
  });

  // Each type's success word (the guide's): passed, passed, success, completed.
  it.each([
    [
      "/batch/validation",
      "targets",
      { id: "f1", path: "src/a.py" },
      "batch_validation",
      "total_targets",
      "passed",
    ],
    [
      "/batch/tests",
      "modules",
      { id: "m1", path: "tests/test_a.py" },
      "batch_tests",
      "total_modules",
      "passed",
    ],
    [
      "/batch/mcp-operations",
      "operations",
      { type: "read", path: "README.md" },
      "batch_mcp",
      "total_operations",
      "success",
    ],
    [
      "/batch/agent-tasks",
      "tasks",
      { id: "t1", description: "x" },
      "batch_agent_tasks",
      "total_tasks",
      "completed",
    ],
  ])(
    "%s runs to completion with results that carry each item",
    async (path, field, item, type, totalKey, word) => {
      const t = await startTestApp({ register: registerAll });
      const res = await t.request("POST", path, { [field]: [item, { ...item, id: "second" }] });
      expect(res.status).toBe(200);
      expect(res.body.job_id.startsWith(`${type}-`)).toBe(true);
      expect(res.body.metadata).toEqual({ [totalKey]: 2 });
      const done = await waitForJobEnd(t, res.body.job_id);
      expect(done.status).toBe("completed");
      expect(done.progress).toBe(100);
      // An agent job's summary always has its usage (here no model was called: the processor is a stand-in).
      expect(done.result.summary).toEqual({
        total: 2,
        successful: 2,
        failed: 0,
        skipped: 0,
        cancelled: 0,
        ...(type === "batch_agent_tasks" ? { usage: {} } : {}),
      });
      expect(done.result.results).toHaveLength(2);
      expect(done.result.results[0]).toMatchObject({
        ...item,
        id: (item as { id?: string }).id ?? "op-0",
        status: word,
      });
      expect(done.result.results[1]).toMatchObject({ id: "second", status: word });
      expect(typeof done.result.elapsed_seconds).toBe("number");
      expect(Object.keys(done.metadata.progress).sort()).toEqual(
        expect.arrayContaining([...PROGRESS_KEYS].sort()),
      );
      expect(done.metadata.progress).toMatchObject({
        total: 2,
        processed: 2,
        successful: 2,
        failed: 0,
        percentage: 100,
      });
      expect(done.started_at).toBeGreaterThanOrEqual(done.created_at);
      expect(done.completed_at).toBeGreaterThanOrEqual(done.started_at);
    },
  );

  it("GET /batch/jobs/{id}: 404 FastAPI detail for an unknown job; include_results=false omits results", async () => {
    const t = await startTestApp({ register: registerAll });
    const missing = await t.request("GET", "/batch/jobs/batch_mcp-000000000000");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ detail: "Job not found" });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: "a" }, { id: "b" }] });
    await waitForJobEnd(t, res.body.job_id);
    const lean = await t.request("GET", `/batch/jobs/${res.body.job_id}?include_results=false`);
    expect(lean.body.result.results).toBeUndefined();
    expect(lean.body.result.summary.total).toBe(2);
    const full = await t.request("GET", `/batch/jobs/${res.body.job_id}`);
    expect(full.body.result.results.map((r: { id: string }) => r.id)).toEqual(["a", "b"]);
  });

  it("GET /batch/jobs filters by status and type, pages with limit/offset and returns the true total", async () => {
    const gate = new GateProcessor();
    const t = await startTestApp({
      config: { workers: 1 },
      register: (r) => {
        r.register("noop", noopProcessor);
        r.register("gate", gate);
      },
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.request("POST", "/batch/jobs", { type: "noop", items: [{ id: `n${i}` }] });
      ids.push(r.body.job_id);
      await waitForJobEnd(t, r.body.job_id);
    }
    const gated = await t.request("POST", "/batch/jobs", { type: "gate", items: [{ id: "g" }] });
    await gate.startedAtLeast(1);
    const queued = await t.request("POST", "/batch/validation", { targets: [{ path: "a" }] });

    const all = await t.request("GET", "/batch/jobs");
    expect(all.body.total).toBe(7);
    expect(all.body.jobs).toHaveLength(7);
    expect(all.body.jobs[0].job_id).toBe(queued.body.job_id); // newest first
    expect(
      all.body.jobs.every((j: { result: { results?: unknown } | null }) => j.result?.results === undefined),
    ).toBe(true);

    const page = await t.request("GET", "/batch/jobs?limit=2&offset=1");
    expect(page.body.total).toBe(7);
    expect(page.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([gated.body.job_id, ids[4]]);

    const completed = await t.request("GET", "/batch/jobs?status=completed&limit=3");
    expect(completed.body.total).toBe(5);
    expect(completed.body.jobs).toHaveLength(3);
    const running = await t.request("GET", "/batch/jobs?status=running");
    expect(running.body.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([gated.body.job_id]);
    expect(running.body.jobs[0].metadata.progress.total).toBe(1);
    const byType = await t.request("GET", "/batch/jobs?job_type=batch_validation");
    expect(byType.body).toMatchObject({ total: 1, jobs: [{ job_id: queued.body.job_id, status: "queued" }] });
    const withResults = await t.request("GET", "/batch/jobs?status=completed&include_results=true&limit=1");
    expect(withResults.body.jobs[0].result.results).toHaveLength(1);
    const none = await t.request("GET", "/batch/jobs?job_type=nothing_like_this");
    expect(none.body).toEqual({ jobs: [], total: 0 });

    const stats = await t.request("GET", "/batch/stats");
    expect(stats.body).toEqual({
      stats: {
        total: 7,
        queued: 1,
        running: 1,
        completed: 5,
        failed: 0,
        cancelled: 0,
        cache: { hits: 0, misses: 0, entries: 0 },
      },
    });
    gate.release();
  });

  it("GET /batch/stats always has every key", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const stats = await t.request("GET", "/batch/stats");
    expect(stats.body).toEqual({
      stats: {
        total: 0,
        queued: 0,
        running: 0,
        completed: 0,
        failed: 0,
        cancelled: 0,
        cache: { hits: 0, misses: 0, entries: 0 },
      },
    });
  });

  it("DELETE: cancels a queued job, 400 once finished, 404 when unknown", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const res = await t.request("POST", "/batch/tests", { modules: [{ id: "m", path: "tests/test_x.py" }] });
    const del = await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ status: "cancelled", job_id: res.body.job_id });
    const again = await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    expect(again.status).toBe(400);
    expect(again.body.detail).toMatch(/^Job cannot be cancelled/);
    const unknown = await t.request("DELETE", "/batch/jobs/batch_tests-ffffffffffff");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ detail: "Job not found" });
    const job = await t.request("GET", `/batch/jobs/${res.body.job_id}`);
    expect(job.body).toMatchObject({
      status: "cancelled",
      // The item never ran: its entry says so, with the item as submitted (a retry can take it again).
      result: {
        summary: { total: 1, cancelled: 1 },
        results: [{ id: "m", path: "tests/test_x.py", status: "cancelled", error: "Cancelled by user" }],
      },
    });
  });

  it("an unregistered type is refused at submit (a job stored before its processor went away still fails with the contract's message: job-runner.test)", async () => {
    const t = await startTestApp();
    const res = await t.request("POST", "/batch/jobs", { type: "nobody_home", items: [{ id: "x" }] });
    expect(res.status).toBe(422);
    expect(res.body.detail[0]).toMatchObject({ loc: ["body", "type"], type: "value_error.job_type" });
    expect(res.body.detail[0].msg).toMatch(/^unknown job type 'nobody_home'; registered types: /);
  });

  it("items without an id get op-<index>; a failing item fails the job with a count; the recovery recipe works", async () => {
    const gate = new GateProcessor();
    gate.release();
    const t = await startTestApp({ register: (r) => r.register("batch_agent_tasks", gate) });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "fine" }, { id: "bad", description: "fails" }, { description: "throw:kaput" }],
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("failed");
    expect(done.error).toBe("2 of 3 items failed");
    expect(done.result.results.map((r: { id: string }) => r.id)).toEqual(["op-0", "bad", "op-2"]);
    expect(done.result.results[2]).toMatchObject({
      id: "op-2",
      description: "throw:kaput",
      status: "failed",
      failure: "error",
      error: "kaput",
    });
    // The README's recovery recipe: resubmit failed results as tasks, verbatim.
    const failed = done.result.results.filter((r: { status: string }) => r.status === "failed");
    const retry = await t.request("POST", "/batch/agent-tasks", { tasks: failed });
    expect(retry.status).toBe(200);
    expect(retry.body.metadata.total_tasks).toBe(2);
    const items = (await t.app.store.listItems(retry.body.job_id, { limit: 10, offset: 0 })).items;
    expect(items.map((i) => i.payload)).toEqual([
      { id: "bad", description: "fails" },
      { id: "op-2", description: "throw:kaput" },
    ]);
  });

  it("serves /openapi.json describing every route, /docs and /health", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const spec = await t.request("GET", "/openapi.json");
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(spec.body.paths);
    for (const p of [
      "/batch/agent-tasks",
      "/batch/validation",
      "/batch/tests",
      "/batch/mcp-operations",
      "/batch/jobs",
      "/batch/jobs/{job_id}",
      "/batch/stats",
      "/health",
    ])
      expect(paths).toContain(p);
    expect(Object.keys(spec.body.paths["/batch/jobs/{job_id}"])).toEqual(
      expect.arrayContaining(["get", "delete"]),
    );
    const docs = await t.request("GET", "/docs");
    expect(docs.status).toBe(200);
    expect(docs.text).toContain("swagger");
    const health = await t.request("GET", "/health");
    expect(health.body).toMatchObject({ status: "ok" });
  });
});
