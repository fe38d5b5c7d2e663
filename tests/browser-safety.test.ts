import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { OriginPolicy } from "../src/api/origin-policy.js";
import { resolveServerConfig } from "../src/config/server-config.js";
import { endedJob } from "./helpers/ended-job.js";
import { newJob } from "./helpers/memory-store.js";
import { startTestApp, type TestApp } from "./helpers/test-app.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** A request with exactly these headers (fetch may not set Host), as a browser or a rebinding page would send. */
function raw(
  t: TestApp,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawResponse> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: Number(url.port), method, path, headers, setHost: !("host" in headers) },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d.toString();
        });
        res.on("end", () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const TASKS = JSON.stringify({ tasks: [{ id: "a", description: "rm everything" }] });
/** A JSON submit as a page at `origin` would send it. */
const submitFrom = (t: TestApp, origin: string) =>
  raw(t, "POST", "/batch/agent-tasks", { origin, "content-type": "application/json" }, TASKS);
const portOf = (t: TestApp) => new URL(t.url).port;
const jobCount = async (t: TestApp) => (await t.app.queue.stats()).total;

/** A failed job to retry (one of its two items failed). */
async function failedJob(t: TestApp): Promise<string> {
  await endedJob(t.app.store, "noop-00000000fail", 2, (i) => ({ status: i === 0 ? "failed" : "succeeded" }));
  return "noop-00000000fail";
}

describe("DNS rebinding: only known Host values are served", () => {
  it("refuses a foreign Host with 421 and queues nothing; localhost and the bind address work", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const port = portOf(t);
    for (const [method, path, body] of [
      ["GET", "/batch/stats", undefined],
      ["GET", "/batch/jobs", undefined],
      ["POST", "/batch/agent-tasks", TASKS],
      ["GET", "/", undefined],
    ] as const) {
      const res = await raw(
        t,
        method,
        path,
        { host: `evil.example:${port}`, "content-type": "application/json" },
        body,
      );
      expect(res.status, `${method} ${path}`).toBe(421);
      expect(res.body.detail).toMatch(/Host 'evil\.example:\d+' is not allowed/);
    }
    expect(await jobCount(t)).toBe(0);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost", `LOCALHOST:${port}`]) {
      expect((await raw(t, "GET", "/batch/stats", { host })).status, host).toBe(200);
    }
    const posted = await raw(t, "POST", "/batch/agent-tasks", { "content-type": "application/json" }, TASKS);
    expect(posted.status).toBe(200);
  });

  it("--allowed-hosts adds names; everything else stays refused", async () => {
    const t = await startTestApp({ config: { workers: 0, allowedHosts: "coder.lan, build-box" } });
    expect((await raw(t, "GET", "/batch/stats", { host: `coder.lan:${portOf(t)}` })).status).toBe(200);
    expect((await raw(t, "GET", "/batch/stats", { host: "build-box" })).status).toBe(200);
    expect((await raw(t, "GET", "/batch/stats", { host: "evil.example" })).status).toBe(421);
  });

  it("a non-loopback bind with API keys accepts any Host (keys protect it); a loopback bind is strict", () => {
    const policy = (input: Parameters<typeof resolveServerConfig>[0]) =>
      OriginPolicy.fromConfig(resolveServerConfig(input));
    expect(policy({ host: "0.0.0.0", apiKeys: "k" }).hostAllowed("coder.example.com")).toBe(true);
    expect(policy({ host: "127.0.0.1", apiKeys: "k" }).hostAllowed("coder.example.com")).toBe(false);
    const open = policy({ host: "0.0.0.0", allowUnauthenticated: true });
    expect(open.hostAllowed("coder.example.com")).toBe(false);
    expect(open.hostAllowed("192.168.1.20:8000")).toBe(true); // an address names the server itself
    expect(policy({ host: "127.0.0.1", allowedHosts: "*" }).hostAllowed("anything")).toBe(true);
    expect(policy({ host: "127.0.0.1" }).hostAllowed("[::1]:8000")).toBe(true);
    expect(policy({ host: "127.0.0.1" }).hostAllowed("10.0.0.1")).toBe(false);
  });
});

describe("cross-site requests", () => {
  it("refuses a foreign Origin with 403 and queues nothing; the same origin works", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const port = portOf(t);
    for (const origin of [
      "http://evil.example",
      `http://evil.example:${port}`,
      "http://127.0.0.1:9",
      `https://127.0.0.1:${Number(port) + 1}`,
      "null",
    ]) {
      const res = await submitFrom(t, origin);
      expect(res.status, origin).toBe(403);
      expect(res.body.detail).toMatch(/Origin .* is not allowed/);
      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    }
    expect(await jobCount(t)).toBe(0);
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      expect((await submitFrom(t, origin)).status, origin).toBe(200);
    }
    const foreignDelete = await raw(t, "DELETE", "/batch/jobs/nope", { origin: "http://evil.example" });
    expect(foreignDelete.status).toBe(403);
  });

  it("a foreign page can neither delete jobs, clean up, schedule, reprioritize, nor submit with a webhook or a time", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const id = await failedJob(t);
    const queued = "noop-0000000queue";
    await t.app.store.createJob(newJob(queued, 1, { type: "noop" }));
    const evil = { origin: "http://evil.example", "content-type": "application/json" };
    const noCors = {
      "sec-fetch-site": "cross-site",
      "sec-fetch-mode": "no-cors",
      "content-type": "text/plain",
    };
    const job = JSON.stringify({ type: "noop", items: [{}] });
    for (const [method, path, body] of [
      ["DELETE", `/batch/jobs/${id}?purge=true`, undefined],
      ["POST", "/batch/cleanup", JSON.stringify({ older_than_days: 0 })],
      ["POST", "/batch/schedules", JSON.stringify({ name: "x", cron: "* * * * *", job: JSON.parse(job) })],
      ["POST", "/batch/schedules/x/pause", "{}"],
      ["DELETE", "/batch/schedules/x", undefined],
      ["POST", `/batch/jobs/${id}/retry`, JSON.stringify({ include: ["failed", "succeeded"] })],
      ["POST", "/batch/jobs", JSON.stringify({ ...JSON.parse(job), webhook_url: "http://evil.example/" })],
      ["POST", "/batch/jobs", JSON.stringify({ ...JSON.parse(job), delay_seconds: 60 })],
      ["PATCH", `/batch/jobs/${queued}`, JSON.stringify({ priority: 100 })],
      // This session's routes: a cancel (with its cascade), a workflow, a job waiting on another.
      ["POST", `/batch/jobs/${queued}/cancel`, undefined],
      [
        "POST",
        "/batch/workflows",
        JSON.stringify({ name: "w", steps: [{ id: "a", type: "noop", body: { items: [{}] } }] }),
      ],
      ["POST", "/batch/jobs", JSON.stringify({ ...JSON.parse(job), depends_on: [queued] })],
    ] as const) {
      for (const headers of [evil, noCors]) {
        const res = await raw(t, method, path, { ...headers, "idempotency-key": "k" }, body);
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    expect(await t.app.store.getJob(id)).not.toBeNull(); // not purged, not cleaned up
    expect(await jobCount(t)).toBe(2); // nothing retried or submitted
    expect((await t.app.store.getJob(queued))?.priority).toBe(0);
    expect((await t.app.store.getJob(queued))?.status).toBe("queued"); // not cancelled
    expect((await t.request("GET", "/batch/workflows")).body.total).toBe(0);
    expect((await t.request("GET", "/batch/schedules")).body).toEqual({ schedules: [] });
  });

  it("a retry needs Content-Type: application/json or an API key: a text/plain form post re-runs nothing", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const id = await failedJob(t);
    for (const headers of [
      { "content-type": "text/plain" },
      { "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "multipart/form-data; boundary=x" },
      {},
    ] as Record<string, string>[]) {
      const res = await raw(t, "POST", `/batch/jobs/${id}/retry`, headers, "x=1");
      expect(res.status, JSON.stringify(headers)).toBe(415);
      expect(res.body.detail).toMatch(/Content-Type: application\/json/);
    }
    expect(await jobCount(t)).toBe(1);
    expect((await t.app.queue.get(id)).metadata.retried_by).toBeUndefined();
    // curl -X POST .../retry -H 'content-type: application/json' (no body) and requests.post(json={})
    const curl = await raw(t, "POST", `/batch/jobs/${id}/retry`, { "content-type": "application/json" });
    expect(curl.status).toBe(200);
    const withBody = await raw(
      t,
      "POST",
      `/batch/jobs/${id}/retry`,
      { "content-type": "application/json" },
      "{}",
    );
    expect(withBody.status).toBe(200);
    expect(await jobCount(t)).toBe(3);
    // curl -X DELETE needs nothing more (a browser cannot send DELETE cross-site without a preflight).
    const cancel = await raw(t, "DELETE", `/batch/jobs/${curl.body.job_id}`, {});
    expect(cancel.status).toBe(200);
  });

  it("with API keys, a key is enough for a body-less retry", async () => {
    const t = await startTestApp({ config: { workers: 0, apiKeys: "k1" } });
    const id = await failedJob(t);
    const res = await raw(t, "POST", `/batch/jobs/${id}/retry`, { authorization: "Bearer k1" });
    expect(res.status).toBe(200);
  });

  it("refuses a WebSocket or an event stream from a foreign Origin; the same origin connects", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    const wsUrl = `${t.url.replace("http", "ws")}/batch/ws?all=true`;
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { origin: "http://evil.example" });
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("open", () => {
        ws.close();
        reject(new Error("a foreign Origin's WebSocket was accepted"));
      });
      ws.on("error", () => undefined);
    });
    expect(status).toBe(403);
    const first = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { origin: t.url });
      ws.on("message", (m: Buffer) => {
        resolve(m.toString());
        ws.close();
      });
      ws.on("error", reject);
    });
    expect(JSON.parse(first)).toEqual({ event: "subscribed", data: { job_id: null } });
    const sse = await raw(t, "GET", "/batch/events", { origin: "http://evil.example" });
    expect(sse.status).toBe(403);
  });
});

describe("CORS", () => {
  it("is off unless --cors-origin names an origin, which then counts as the same origin", async () => {
    const plain = await startTestApp({ config: { workers: 0 } });
    const same = await raw(plain, "GET", "/batch/stats", { origin: plain.url });
    expect(same.status).toBe(200);
    expect(same.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await raw(plain, "OPTIONS", "/batch/agent-tasks", {
      origin: "http://app.example:3000",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);

    const t = await startTestApp({ config: { workers: 0, corsOrigin: "http://app.example:3000" } });
    const origin = "http://app.example:3000";
    const pre = await raw(t, "OPTIONS", "/batch/agent-tasks", {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe(origin);
    expect(String(pre.headers["access-control-allow-headers"])).toMatch(/content-type/);
    const post = await raw(
      t,
      "POST",
      "/batch/agent-tasks",
      { origin, "content-type": "application/json" },
      TASKS,
    );
    expect(post.status).toBe(200);
    expect(post.headers["access-control-allow-origin"]).toBe(origin);
    expect((await raw(t, "GET", "/batch/stats", { origin: "http://evil.example" })).status).toBe(403);
    // What a browser really sends: Sec-Fetch-Site says cross-site. The --cors-origin's CORS requests pass...
    const browser = { origin, "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors" };
    const prefetched = await raw(t, "OPTIONS", "/batch/agent-tasks", {
      ...browser,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(prefetched.status).toBe(204);
    expect((await raw(t, "GET", "/batch/stats", browser)).status).toBe(200);
    // ...but not its no-cors ones, nor another site's CORS requests.
    expect((await raw(t, "GET", "/batch/stats", { ...browser, "sec-fetch-mode": "no-cors" })).status).toBe(
      403,
    );
    const other = { ...browser, origin: "http://evil.example" };
    expect((await raw(t, "GET", "/batch/stats", other)).status).toBe(403);
  });

  it("rejects a --cors-origin that is not an origin", () => {
    expect(() => resolveServerConfig({ corsOrigin: "app.example" })).toThrow(/cors-origin must be/);
    expect(() => resolveServerConfig({ corsOrigin: "http://app.example/path" })).toThrow(
      /cors-origin must be/,
    );
    expect(resolveServerConfig({ corsOrigin: "http://App.example:3000/" }).corsOrigin).toBe(
      "http://app.example:3000",
    );
  });
});

describe("what browsers say about a request without an Origin", () => {
  it("refuses cross-site and same-site requests (an <img>, a no-cors fetch), lets navigations in, and frames nothing", async () => {
    const t = await startTestApp({ config: { workers: 0 } });
    for (const site of ["cross-site", "same-site"]) {
      const img = await raw(t, "GET", "/batch/jobs", {
        "sec-fetch-site": site,
        "sec-fetch-mode": "no-cors",
        "sec-fetch-dest": "image",
      });
      expect(img.status).toBe(403);
      const post = await raw(
        t,
        "POST",
        "/batch/agent-tasks",
        { "sec-fetch-site": site, "sec-fetch-mode": "no-cors", "content-type": "application/json" },
        TASKS,
      );
      expect(post.status).toBe(403);
    }
    expect((await t.request("GET", "/batch/jobs")).body.total).toBe(0); // nothing was queued
    const link = await raw(t, "GET", "/", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" });
    expect(link.status).toBe(200);
    expect(link.headers["x-frame-options"]).toBe("DENY");
    expect(link.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    const own = await raw(t, "GET", "/batch/jobs", {
      "sec-fetch-site": "same-origin",
      "sec-fetch-mode": "cors",
    });
    expect(own.status).toBe(200);
  });
});

describe("request bodies received at once", () => {
  it("add up to at most 16 times the body limit; past that a request gets 503 before its body is read", async () => {
    const t = await startTestApp({ config: { workers: 0, maxBodyMb: 1 } });
    const url = new URL(t.url);
    const { connect } = await import("node:net");
    const slow = await Promise.all(
      Array.from(
        { length: 16 },
        () =>
          new Promise<import("node:net").Socket>((resolve) => {
            const s = connect(Number(url.port), "127.0.0.1", () => {
              // 1 MiB declared, a few bytes sent: the server holds its reservation while it waits for the rest
              s.write(
                `POST /batch/mcp-operations HTTP/1.1\r\nHost: 127.0.0.1:${url.port}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"op`,
              );
              resolve(s);
            });
            s.on("error", () => undefined);
          }),
      ),
    );
    try {
      await expect
        .poll(async () => (await t.request("POST", "/batch/mcp-operations", { operations: [] })).status)
        .toBe(503);
      const refused = await t.request("POST", "/batch/mcp-operations", { operations: [] });
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.body.detail).toMatch(/Too many request bodies/);
      expect((await t.request("GET", "/health")).status).toBe(200); // requests without a body go on
    } finally {
      for (const s of slow) s.destroy();
    }
    await expect
      .poll(async () => (await t.request("POST", "/batch/mcp-operations", { operations: [] })).status)
      .toBe(422); // served again (an empty list is a validation error, not a 503)
  });
});

describe("connections from one address", () => {
  it("hold at most a quarter of the slots: slow sockets from one place leave room for others", async () => {
    const t = await startTestApp({ config: { workers: 0, maxConnections: 64 } });
    const port = Number(new URL(t.url).port);
    const { connect } = await import("node:net");
    // 64 idle sockets from 127.0.0.1 (no request sent): without a per-address cap they would take every slot
    const idle = await Promise.all(
      Array.from(
        { length: 64 },
        () =>
          new Promise<import("node:net").Socket>((resolve) => {
            const s = connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1" }, () => resolve(s));
            s.on("error", () => resolve(s));
          }),
      ),
    );
    try {
      const fromElsewhere = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: "127.0.0.1", port, path: "/health", localAddress: "127.0.0.2" },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(fromElsewhere).toBe(200);
      await expect.poll(() => idle.filter((s) => !s.destroyed).length).toBeLessThanOrEqual(16);
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});
