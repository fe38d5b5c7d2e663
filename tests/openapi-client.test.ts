import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const exec = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PROGRAMS = join(ROOT, "tests/fixtures/openapi-client");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const OPENAPI_TS = join(ROOT, "node_modules/openapi-typescript/bin/cli.js");
const TSC_FLAGS = [
  "--strict",
  "--noUncheckedIndexedAccess",
  "--target",
  "es2022",
  "--module",
  "es2022",
  "--moduleResolution",
  "bundler",
  "--lib",
  "es2022,dom",
  "--skipLibCheck",
];

/** tsc on programs of `dir` (emitted into `emitTo`, or only checked): its exit code and what it said. */
async function typeCheck(
  dir: string,
  files: string[],
  emitTo?: string,
): Promise<{ code: number; out: string }> {
  const args = [TSC, ...TSC_FLAGS, ...(emitTo ? ["--outDir", emitTo] : ["--noEmit"]), ...files];
  try {
    const { stdout } = await exec(process.execPath, args, { cwd: dir });
    return { code: 0, out: stdout };
  } catch (e: unknown) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("a client generated from /openapi.json (openapi-typescript)", () => {
  it("type-checks a program against it, refuses misuses, and the program works against the server", {
    timeout: 120_000,
  }, async () => {
    const t = await startTestApp({ builtins: true, config: { sandbox: "off" } });
    const project = t.app.config.projectRoot;
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, "a.py"), "print('hi')\n");
    const spec = await t.request("GET", "/openapi.json");
    expect(spec.status).toBe(200);

    const dir = tempDir("oc-client-");
    for (const f of readdirSync(PROGRAMS)) copyFileSync(join(PROGRAMS, f), join(dir, f));
    writeFileSync(join(dir, "openapi.json"), spec.text);
    // openapi-typescript checks the document (Redocly's parser) and stops on an invalid one; no warnings either.
    const gen = await exec(process.execPath, [OPENAPI_TS, "openapi.json", "-o", "api.ts"], { cwd: dir });
    expect(`${gen.stdout}${gen.stderr}`).not.toMatch(/warn|error|✘|⚠/i);

    // The program type-checks (and is compiled, to run it below); each misuse fails on its own line.
    const out = join(dir, "out");
    const ok = await typeCheck(dir, ["client.ts"], out);
    expect(ok.out).toBe("");
    expect(ok.code).toBe(0);
    const bad = await typeCheck(dir, ["misuse.ts", "misuse-result.ts"]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/misuse\.ts\(7,\d+\): error TS\d+: .*'check_comand' does not exist in type/);
    expect(bad.out).toMatch(/misuse-result\.ts\(8,\d+\): error TS2322: /);
    expect(bad.out).toContain("Type 'string' is not assignable to type 'number'");

    // The same program against the real server: what the types promise is what comes back.
    writeFileSync(join(out, "package.json"), '{"type":"module"}');
    const client = await import(pathToFileURL(join(out, "client.js")).href);
    const jobId: string = await client.submit(t.url, "a.py");
    await waitForJobEnd(t, jobId);
    expect(await client.read(t.url, jobId)).toEqual({
      status: "passed",
      exitCode: 0,
      total: 1,
      itemStatus: "passed",
      itemsTotal: 1,
    });
  });

  it("names every schema a client needs and makes defaulted request fields optional", async () => {
    const t = await startTestApp({ builtins: true, config: { workers: 0 } });
    const doc = (await t.request("GET", "/openapi.json")).body;
    expect(doc.openapi).toBe("3.1.0");
    const schemas = doc.components.schemas;
    const body = (name: string) => doc.components.requestBodies[name].content["application/json"].schema;
    for (const name of ["AgentTasksRequest", "ValidationRequest", "TestsRequest", "McpOperationsRequest"])
      expect(doc.components.requestBodies, name).toHaveProperty(name);
    for (const name of [
      "JobResponse",
      "JobSummary",
      "ModelUsage",
      "UsageByModel",
      "Error",
      "ItemPage",
      "JobList",
      "EventMessage",
      "WaitingMessage",
      "ItemEvent",
      "PathTarget",
      "AgentTask",
      "McpOperation",
      ...["AgentTasks", "Validation", "Tests", "McpOperations"].flatMap((k) => [`${k}Job`, `${k}Result`]),
    ])
      expect(schemas, name).toHaveProperty(name);
    // Defaults are the server's to fill in: only the items are required.
    expect(body("ValidationRequest").required).toEqual(["targets"]);
    expect(body("AgentTasksRequest").required).toEqual(["tasks"]);
    expect(body("JobRequest").required).toEqual(["type", "items"]);
    expect(body("ValidationRequest").properties.parallel).toMatchObject({ default: 5 });
    const limit = doc.paths["/batch/jobs"].get.parameters.find((p: { name: string }) => p.name === "limit");
    expect(limit).toMatchObject({ required: false, schema: { default: 100 } });
    // Routes refer to the named schemas, not copies of them.
    const get = doc.paths["/batch/jobs/{job_id}"].get.responses;
    expect(get["200"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/JobResponse",
    });
    expect(get["404"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    expect(doc.paths["/batch/validation"].post.requestBody).toEqual({
      $ref: "#/components/requestBodies/ValidationRequest",
    });
    expect(body("ValidationRequest").properties.targets.items).toEqual({
      $ref: "#/components/schemas/PathTarget",
    });
    expect(schemas.AgentTasksResult.properties.usage).toEqual({ $ref: "#/components/schemas/UsageByModel" });
    // A retry may be sent without a body (all its fields are optional); a submit may not.
    expect(doc.components.requestBodies.RetryRequest.required).toBe(false);
    expect(doc.components.requestBodies.ValidationRequest.required).toBe(true);
    // Every submit route says it takes an Idempotency-Key header and may answer 409 for a reused one.
    for (const path of ["/batch/validation", "/batch/agent-tasks", "/batch/jobs", "/batch/workflows"]) {
      const post = doc.paths[path].post;
      const header = post.parameters?.find((p: { in: string; name: string }) => p.in === "header");
      expect(header, path).toMatchObject({ name: "idempotency-key", required: false });
      expect(post.responses, path).toHaveProperty("409");
    }
  });

  it("describes what the server answers: real answers validate against the document's schemas", async () => {
    const t = await startTestApp({ builtins: true, config: { sandbox: "off" } });
    const project = t.app.config.projectRoot;
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, "a.py"), "x = 1\n");
    const doc = (await t.request("GET", "/openapi.json")).body;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: "doc", components: doc.components });
    const check = (name: string, value: unknown) => {
      const validate = ajv.getSchema(`doc#/components/schemas/${name}`);
      expect(validate, name).toBeDefined();
      const valid = validate!(value);
      expect(validate!.errors ?? [], `${name}: ${JSON.stringify(value).slice(0, 300)}`).toEqual([]);
      expect(valid).toBe(true);
    };
    const submitted = await t.request("POST", "/batch/validation", {
      targets: [{ path: "a.py" }, { path: "missing.py" }],
      check_command: "test -e",
    });
    expect(submitted.status).toBe(200);
    check("ValidationJob", submitted.body);
    await waitForJobEnd(t, submitted.body.job_id);
    const done = await t.request("GET", `/batch/jobs/${submitted.body.job_id}`);
    check("JobResponse", done.body);
    check("ValidationJob", done.body);
    expect(done.body.result.results.map((r: { status: string }) => r.status).sort()).toEqual([
      "failed",
      "passed",
    ]);
    check("JobList", (await t.request("GET", "/batch/jobs?include_results=true")).body);
    check("ItemPage", (await t.request("GET", `/batch/jobs/${submitted.body.job_id}/items`)).body);
    const missing = await t.request("GET", "/batch/jobs/nope");
    expect(missing.status).toBe(404);
    check("Error", missing.body);
    const invalid = await t.request("POST", "/batch/validation", { targets: [] });
    expect(invalid.status).toBe(422);
    check("Error", invalid.body);
  });
});
