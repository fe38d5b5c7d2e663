import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AUTH_FAILURE_LIMITS, AuthFailureLimiter } from "../src/api/auth-failure-limiter.js";
import { assertSafeBind, resolveServerConfig, withEnv } from "../src/config/server-config.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { runCli } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp } from "./helpers/test-app.js";

describe("API keys", () => {
  it("with keys set, every route but /health needs Bearer or X-API-Key", async () => {
    const t = await startTestApp({ config: { workers: 0, apiKeys: "k1,second-key" } });
    for (const [method, path] of [
      ["GET", "/batch/stats"],
      ["GET", "/batch/jobs"],
      ["GET", "/batch/jobs/x"],
      ["DELETE", "/batch/jobs/x"],
      ["POST", "/batch/agent-tasks"],
      ["GET", "/openapi.json"],
      ["GET", "/docs"],
    ] as const) {
      const res = await t.request(
        method,
        path,
        method === "POST" ? { tasks: [{ description: "x" }] } : undefined,
      );
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body).toEqual({ detail: "Not authenticated" });
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
    expect((await t.request("GET", "/health")).status).toBe(200);
    const wrong = await t.request("GET", "/batch/stats", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ detail: "Invalid API key" });
    expect((await t.request("GET", "/batch/stats", undefined, { authorization: "Bearer k1" })).status).toBe(
      200,
    );
    expect((await t.request("GET", "/batch/stats", undefined, { "x-api-key": "second-key" })).status).toBe(
      200,
    );
    const submitted = await t.request(
      "POST",
      "/batch/agent-tasks",
      { tasks: [{ description: "x" }] },
      { "x-api-key": "k1" },
    );
    expect(submitted.status).toBe(200);
    const spec = await t.request("GET", "/openapi.json", undefined, { authorization: "Bearer k1" });
    expect(spec.body.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
  });

  it("without keys the API is open (on loopback)", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    expect((await t.request("GET", "/batch/stats")).status).toBe(200);
  });

  it("refuses a non-loopback bind without keys unless --allow-unauthenticated", () => {
    expect(() => assertSafeBind(resolveServerConfig({ host: "0.0.0.0" }))).toThrow(
      /refusing to listen on 0\.0\.0\.0/,
    );
    expect(() => assertSafeBind(resolveServerConfig({ host: "0.0.0.0", apiKeys: "k" }))).not.toThrow();
    expect(() =>
      assertSafeBind(resolveServerConfig({ host: "0.0.0.0", allowUnauthenticated: true })),
    ).not.toThrow();
    expect(() => assertSafeBind(resolveServerConfig({ host: "127.0.0.1" }))).not.toThrow();
    expect(() => assertSafeBind(resolveServerConfig({ host: "localhost" }))).not.toThrow();
  });

  it("the real CLI exits with the message on an open bind", async () => {
    const dir = tempDir();
    const res = await runCli(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", join(dir, "d")], {
      OLLAMA_CODER_API_KEYS: "",
    });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
  });
});

describe("rate limiting", () => {
  it("is off on loopback by default and on elsewhere", () => {
    expect(resolveServerConfig({}).rateLimitPerMinute).toBe(0);
    expect(resolveServerConfig({ host: "0.0.0.0" }).rateLimitPerMinute).toBe(600);
    expect(resolveServerConfig({ host: "0.0.0.0", rateLimit: "0" }).rateLimitPerMinute).toBe(0);
  });

  it("answers 429 with a detail past the limit, per key", async () => {
    const t = await startTestApp({ config: { workers: 0, rateLimit: 3, apiKeys: "a,b" } });
    const as = (key: string) =>
      t.request("GET", "/batch/stats", undefined, { authorization: `Bearer ${key}` });
    for (let i = 0; i < 3; i++) expect((await as("a")).status).toBe(200);
    const limited = await as("a");
    expect(limited.status).toBe(429);
    expect(limited.body.detail).toMatch(/Rate limit exceeded/);
    expect((await as("b")).status).toBe(200);
    expect((await t.request("GET", "/health")).status).toBe(200);
  });
});

describe("failed authentication", () => {
  it("is rate-limited per client even on loopback, where the request rate limit is off", async () => {
    const t = await startTestApp({ config: { workers: 0, apiKeys: "right-key" } });
    expect(t.app.config.rateLimitPerMinute).toBe(0);
    const { free } = AUTH_FAILURE_LIMITS;
    for (let i = 0; i < free; i++) {
      const res = await t.request("GET", "/batch/stats", undefined, { authorization: `Bearer guess-${i}` });
      expect(res.status, `guess ${i}`).toBe(401);
    }
    const limited = await t.request("GET", "/batch/stats", undefined, { "x-api-key": "guess-again" });
    expect(limited.status).toBe(429);
    expect(limited.body.detail).toMatch(/Too many failed authentication attempts/);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // While it backs off, even the right key waits (otherwise guessing would go on at full speed).
    const right = await t.request("GET", "/batch/stats", undefined, { authorization: "Bearer right-key" });
    expect(right.status).toBe(429);
    expect((await t.request("GET", "/batch/jobs")).status).toBe(401); // no key: nothing to wait for
    expect((await t.request("GET", "/health")).status).toBe(200);
  });

  it("does not count requests that carry no key: a web page cannot lock the user out", async () => {
    const t = await startTestApp({ config: { workers: 0, apiKeys: "right-key" } });
    for (let i = 0; i < AUTH_FAILURE_LIMITS.free * 3; i++) {
      // what an <img src="http://127.0.0.1:8000/batch/jobs"> on any site makes the browser send
      const res = await t.request("GET", "/batch/jobs");
      expect(res.status).toBe(401);
    }
    const right = await t.request("GET", "/batch/jobs", undefined, { authorization: "Bearer right-key" });
    expect(right.status).toBe(200);
  });

  it("backs off exponentially, forgets after a quiet window, and a success clears the count", () => {
    const clock = new FakeClock();
    const limiter = new AuthFailureLimiter(
      { free: 3, windowMs: 60_000, baseBlockMs: 1000, maxBlockMs: 8000, maxClients: 2 },
      clock,
    );
    for (let i = 0; i < 3; i++) expect(limiter.fail("a")).toBe(0);
    expect(limiter.blockedFor("a")).toBe(0);
    expect(limiter.fail("a")).toBe(1000);
    expect(limiter.blockedFor("a")).toBe(1000);
    clock.advance(1000);
    expect(limiter.blockedFor("a")).toBe(0);
    expect(limiter.fail("a")).toBe(2000);
    clock.advance(2000);
    expect(limiter.fail("a")).toBe(4000);
    clock.advance(4000);
    expect(limiter.fail("a")).toBe(8000);
    clock.advance(8000);
    expect(limiter.fail("a")).toBe(8000); // capped
    expect(limiter.blockedFor("b")).toBe(0); // per client
    clock.advance(8000 + 60_000);
    expect(limiter.fail("a")).toBe(0); // a quiet window forgets
    limiter.fail("a");
    limiter.fail("a");
    limiter.succeed("a");
    expect(limiter.fail("a")).toBe(0);
    for (const c of ["c", "d", "e"]) limiter.fail(c);
    expect(limiter.size).toBeLessThanOrEqual(2); // bounded memory
  });
});

describe("configuration", () => {
  it("takes OLLAMA_CODER_* env twins, flags winning over env", () => {
    const env = {
      OLLAMA_CODER_PORT: "9001",
      OLLAMA_CODER_WORKERS: "0",
      OLLAMA_CODER_DATA_DIR: "/tmp/oc-data",
      OLLAMA_CODER_PROJECT_ROOT: "/tmp/oc-project",
      OLLAMA_CODER_API_KEYS: "x, y",
      OLLAMA_HOST: "gpu-box:11434",
    };
    const c = resolveServerConfig(withEnv({ port: "7000" }, env));
    expect(c).toMatchObject({
      port: 7000,
      workers: 0,
      dataDir: "/tmp/oc-data",
      databasePath: "/tmp/oc-data/batch_jobs.db",
      projectRoot: "/tmp/oc-project",
      apiKeys: ["x", "y"],
      ollamaUrl: "http://gpu-box:11434",
    });
    expect(
      resolveServerConfig(withEnv({}, { OLLAMA_CODER_OLLAMA_URL: "http://a:1", OLLAMA_HOST: "b" })).ollamaUrl,
    ).toBe("http://a:1");
  });

  it.each([
    [{ port: "eighty" }, /port must be a whole number/],
    [{ workers: "-1" }, /workers must be a whole number from 0/],
    [{ maxBodyMb: "0" }, /max-body-mb/],
    [{ databaseUrl: "mysql://x" }, /postgres:\/\//],
    [{ ollamaUrl: "ftp://x" }, /ollama-url/],
    [{ logLevel: "loud" }, /log-level/],
    [{ allowUnauthenticated: "perhaps" }, /allow-unauthenticated must be true or false/],
    [{ sandbox: "docker" }, /sandbox must be auto, bwrap, builtin or off/],
    [{ spawner: "fork" }, /spawner must be auto, helper or node/],
  ])("rejects %o with a message that names the option", (input, message) => {
    expect(() => resolveServerConfig(input as never)).toThrow(message);
  });
});
