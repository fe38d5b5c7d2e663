import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { resolveServerConfig } from "../src/config/server-config.js";
import { silentLogger } from "../src/util/logger.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { BACKEND, freshDatabaseUrl } from "./helpers/backend.js";
import { CLI } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp } from "./helpers/test-app.js";

const registerBuiltinTypes = (registry: import("../src/queue/processor.js").ProcessorRegistry) => {
  for (const t of ["batch_agent_tasks", "batch_validation", "batch_tests", "batch_mcp", "noop"])
    registry.register(t, noopProcessor);
};

describe("mistakes found at submit", () => {
  it("a misspelt top-level field is a 422 that names it and suggests the field meant", async () => {
    const t = await startTestApp({ register: registerBuiltinTypes, config: { workers: 0 } });
    const res = await t.request("POST", "/batch/validation", {
      targets: [{ path: "a.py" }],
      paralel: 2,
      check_comand: "ruff check",
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      {
        loc: ["body", "paralel"],
        msg: "unknown field 'paralel' — did you mean 'parallel'?",
        type: "extra_forbidden",
      },
      {
        loc: ["body", "check_comand"],
        msg: "unknown field 'check_comand' — did you mean 'check_command'?",
        type: "extra_forbidden",
      },
    ]);
    const far = await t.request("POST", "/batch/mcp-operations", {
      operations: [{ type: "list", path: "." }],
      zzzzzzzz: 1,
    });
    expect(far.status).toBe(422);
    expect(far.body.detail).toEqual([
      { loc: ["body", "zzzzzzzz"], msg: "unknown field 'zzzzzzzz'", type: "extra_forbidden" },
    ]);
  });

  it("POST /batch/jobs: unknown fields at the top and inside options are 422s with suggestions", async () => {
    const t = await startTestApp({ register: registerBuiltinTypes, config: { workers: 0 } });
    const top = await t.request("POST", "/batch/jobs", {
      type: "batch_tests",
      items: [{ path: "t.py" }],
      chunk_sise: 3,
    });
    expect(top.status).toBe(422);
    expect(top.body.detail).toEqual([
      {
        loc: ["body", "chunk_sise"],
        msg: "unknown field 'chunk_sise' — did you mean 'chunk_size'?",
        type: "extra_forbidden",
      },
    ]);
    const inside = await t.request("POST", "/batch/jobs", {
      type: "batch_tests",
      items: [{ path: "t.py" }],
      options: { test_comand: "pytest -x" },
    });
    expect(inside.status).toBe(422);
    expect(inside.body.detail).toEqual([
      {
        loc: ["body", "options", "test_comand"],
        msg: "unknown field 'test_comand' — did you mean 'test_command'?",
        type: "extra_forbidden",
      },
    ]);
    const fine = await t.request("POST", "/batch/jobs", {
      type: "batch_tests",
      items: [{ path: "t.py" }],
      options: { test_command: "pytest -x", timeout_seconds: 5 },
    });
    expect(fine.status).toBe(200);
  });

  it("POST /batch/jobs: an unknown job type is a 422 listing the registered types", async () => {
    const t = await startTestApp({ register: registerBuiltinTypes, config: { workers: 0 } });
    const res = await t.request("POST", "/batch/jobs", { type: "batch_test", items: [{ id: "x" }] });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      {
        loc: ["body", "type"],
        msg: "unknown job type 'batch_test' — did you mean 'batch_tests'?; registered types: batch_agent_tasks, batch_mcp, batch_tests, batch_validation, noop",
        type: "value_error.job_type",
      },
    ]);
    expect((await t.app.queue.list({ limit: 10, offset: 0 })).total).toBe(0);
  });
});

describe("--project-root named by hand", () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], (error, _stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stderr }),
      );
    });

  it("that does not exist, or is a file, stops serve, worker and mcp with a message and a non-zero exit", async () => {
    const dir = tempDir();
    const missing = join(dir, "no-such-project");
    const file = join(dir, "a-file");
    writeFileSync(file, "x");
    const data = ["--data-dir", join(dir, "data"), "--port", "0"];
    const serveMissing = await run(["serve", "--project-root", missing, ...data]);
    expect(serveMissing.code).not.toBe(0);
    expect(serveMissing.stderr).toContain(
      `--project-root ${missing} does not exist: create it (mkdir -p ${missing})`,
    );
    expect(existsSync(missing)).toBe(false);
    const serveFile = await run(["serve", "--project-root", file, ...data]);
    expect(serveFile.code).not.toBe(0);
    expect(serveFile.stderr).toContain(`--project-root ${file} is not a directory`);
    expect(serveFile.stderr).not.toContain("EEXIST");
    const worker = await run([
      "worker",
      "--project-root",
      missing,
      "--database-url",
      "postgres://nobody@127.0.0.1:1/x",
    ]);
    expect(worker.code).not.toBe(0);
    expect(worker.stderr).toContain("does not exist");
    const mcp = await run(["mcp", "--project-root", file]);
    expect(mcp.code).not.toBe(0);
    expect(mcp.stderr).toContain("is not a directory");
  });
});

describe("the model hosts: /ready and the model check at submit", () => {
  it("/ready reports the store and each Ollama host (reachable, models, latency); degraded, still 200, when none answers", async () => {
    const up = await fakeOllama(["qwen2.5-coder:7b", "llama3.2:latest"]);
    const gone = await fakeOllama();
    const goneUrl = gone.url;
    await gone.close();
    const { t } = await agentApp(`${up.url},${goneUrl}`);
    const ready = await t.request("GET", "/ready");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: "ready",
      store: { status: "usable" },
      ollama: [
        { url: up.url, reachable: true, models: ["llama3.2:latest", "qwen2.5-coder:7b"] },
        { url: goneUrl, reachable: false, models: [], error: "connection refused" },
      ],
    });
    expect(typeof ready.body.ollama[0].latency_ms).toBe("number");
    const { t: alone } = await agentApp(goneUrl);
    const degraded = await alone.request("GET", "/ready");
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({ status: "degraded", ollama: [{ url: goneUrl, reachable: false }] });
    expect((await alone.request("GET", "/health")).status).toBe(200);
  });

  it("a model no host has is a 422 naming it and the models there are; with no host answering the job is accepted", async () => {
    const ollama = await fakeOllama(["qwen2.5-coder:7b", "llama3.2:latest"]);
    const { t } = await agentApp(ollama.url);
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }],
      coder_model: "qwen2.5-coder:7",
      reviewer_model: "mistral",
    });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      {
        loc: ["body", "coder_model"],
        msg: `model 'qwen2.5-coder:7' not found on ${ollama.url} — did you mean 'qwen2.5-coder:7b'?; available: llama3.2:latest, qwen2.5-coder:7b; run \`ollama pull qwen2.5-coder:7\``,
        type: "value_error.model",
      },
      {
        loc: ["body", "reviewer_model"],
        msg: `model 'mistral' not found on ${ollama.url}; available: llama3.2:latest, qwen2.5-coder:7b; run \`ollama pull mistral\``,
        type: "value_error.model",
      },
    ]);
    const generic = await t.request("POST", "/batch/jobs", {
      type: "batch_agent_tasks",
      items: [{ description: "a" }],
      options: { coder_model: "nope" },
    });
    expect(generic.status).toBe(422);
    expect(generic.body.detail[0].loc).toEqual(["body", "coder_model"]);
    const fine = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }],
      reviewer_model: "llama3.2",
    });
    expect(fine.status).toBe(200);
    await t.request("DELETE", `/batch/jobs/${fine.body.job_id}`);

    const gone = await fakeOllama();
    const goneUrl = gone.url;
    await gone.close();
    const { t: down } = await agentApp(goneUrl, { workers: 0 });
    const accepted = await down.request("POST", "/batch/agent-tasks", {
      tasks: [{ description: "a" }],
      coder_model: "anything:1b",
    });
    expect(accepted.status).toBe(200);
  });
});

describe("/health is liveness, /ready readiness", () => {
  it("while the server is still starting, /health answers 200 'starting' and /ready 503", async () => {
    const dir = tempDir();
    const app = await createApp(
      resolveServerConfig({
        port: 0,
        dataDir: join(dir, "data"),
        projectRoot: join(dir, "project"),
        logLevel: "silent",
        ...(BACKEND === "postgres" ? { databaseUrl: freshDatabaseUrl() } : {}),
      }),
      { log: silentLogger, registerProcessors: () => undefined },
    );
    try {
      const url = await app.api.listen({ host: "127.0.0.1", port: 0 }); // listening, workers not started
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe("starting");
      const ready = await fetch(`${url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "starting", store: { status: "usable" } });
    } finally {
      await app.stop();
    }
  });
});
