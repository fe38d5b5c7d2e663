import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name);

describe("plugins: register(ctx) and the original register(registry, config)", () => {
  it("a plugin in the current form gets registry, config and log, and its declared kind gets a route", async () => {
    const t = await startTestApp({ config: { plugins: [fixture("context-plugin.mjs")] } });
    const res = await t.request("POST", "/batch/greetings", { people: [{ id: "a", name: "Ada" }] });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ total_people: 1 });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.status).toBe("completed");
    expect(done.result.results).toEqual([
      expect.objectContaining({
        id: "a",
        name: "Ada",
        status: "success",
        text: "hello Ada",
        project_root_seen: t.app.config.projectRoot,
        has_log: true,
      }),
    ]);
    const job = await t.app.store.getJob(res.body.job_id);
    expect(job).toMatchObject({ chunkSize: 7, parallel: 2, options: { greeting: "hello" } });

    const spec = await t.request("GET", "/openapi.json");
    expect(Object.keys(spec.body.paths)).toContain("/batch/greetings");
    // The route checks items against the declared item schema (a 422 in the contract's shape).
    const bad = await t.request("POST", "/batch/greetings", { people: [{ id: "b" }] });
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toEqual([
      { loc: ["body", "people", 0, "name"], msg: "Field required", type: "missing" },
    ]);
  });

  it("POST /batch/jobs checks a declared kind's items and options and fills the options' defaults", async () => {
    const t = await startTestApp({ config: { plugins: [fixture("context-plugin.mjs")] } });
    const bad = await t.request("POST", "/batch/jobs", {
      type: "test_greet",
      items: [{ name: "x" }, { id: "y" }],
      options: { greeting: 5 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toEqual([
      { loc: ["body", "options", "greeting"], msg: "Input should be a valid string", type: "string_type" },
      { loc: ["body", "items", 1, "name"], msg: "Field required", type: "missing" },
    ]);
    const ok = await t.request("POST", "/batch/jobs", { type: "test_greet", items: [{ name: "Bo" }] });
    expect(ok.status).toBe(200);
    const done = await waitForJobEnd(t, ok.body.job_id);
    expect(done.result.results[0]).toMatchObject({ text: "hello Bo" });
  });

  it("a plugin in the original form (register(registry)) still loads", async () => {
    const t = await startTestApp({ config: { plugins: [fixture("sleep-plugin.mjs")] } });
    const res = await t.request("POST", "/batch/jobs", {
      type: "test_echo",
      items: [{ id: "e" }],
      options: { output_bytes: 3 },
    });
    const done = await waitForJobEnd(t, res.body.job_id);
    expect(done.result.results).toEqual([expect.objectContaining({ id: "e", output: "xxx", id_seen: "e" })]);
  });

  it("POST /batch/jobs for a built-in kind applies the kind's checks (as its own route does)", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const res = await t.request("POST", "/batch/jobs", {
      type: "batch_mcp",
      items: [{ id: "w", type: "write", path: "a.txt" }],
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      {
        loc: ["body", "items", 0, "content"],
        msg: "Field required for a 'write' operation (a string)",
        type: "missing",
      },
    ]);
    const ok = await t.request("POST", "/batch/jobs", {
      type: "batch_validation",
      items: [{ path: "x.py" }],
    });
    expect(ok.status).toBe(200);
    const job = await t.app.store.getJob(ok.body.job_id);
    expect(job?.options).toEqual({ check_command: "pytest -q", timeout_seconds: 300 });
  });
});
