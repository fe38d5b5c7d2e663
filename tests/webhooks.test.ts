import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { verifySignature } from "../src/api/webhooks/webhook-signature.js";
import type { Processor } from "../src/queue/processor.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

const receivers: Server[] = [];
afterEach(async () => {
  for (const s of receivers.splice(0)) await new Promise((r) => s.close(r));
});

/** A real HTTP receiver on 127.0.0.1: records every POST and answers what `answer` says. */
async function receiver(
  answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }),
) {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(parts).toString("utf8") });
      const a = answer(deliveries.length);
      res.writeHead(a.status, a.headers ?? {}).end("ok");
    });
  });
  receivers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, deliveries };
}

const SECRET = "s3cret-for-tests";
const FAST = { baseDelayMs: 20, maxDelayMs: 200, timeoutMs: 5000, sweepMs: 100 };

function app(
  extra: { dataDir?: string; maxAttempts?: number; workers?: number; maxBodyBytes?: number } = {},
): Promise<TestApp> {
  return startTestApp({
    register: (r) => r.register("noop", noopProcessor),
    config: { webhookSecret: SECRET, workers: extra.workers ?? 2 },
    webhooks: {
      ...FAST,
      ...(extra.maxAttempts ? { maxAttempts: extra.maxAttempts } : {}),
      ...(extra.maxBodyBytes ? { maxBodyBytes: extra.maxBodyBytes } : {}),
    },
    ...(extra.dataDir ? { dataDir: extra.dataDir } : {}),
  });
}

async function webhookOf(t: TestApp, jobId: string) {
  return (await t.request("GET", `/batch/jobs/${jobId}?include_results=false`)).body.metadata.webhook;
}

describe("webhooks", () => {
  it("POSTs the final job answer, signed with HMAC-SHA256 over the raw body, and records the delivery", async () => {
    const hook = await receiver();
    const t = await app();
    const res = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{ id: "a" }, { id: "b" }],
      webhook_url: hook.url,
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata.webhook).toEqual({ url: hook.url, state: "pending", attempts: 0 });
    await expect.poll(() => hook.deliveries.length).toBe(1);
    const [d] = hook.deliveries;
    // Signed: the timestamp header's value, a dot, the raw body (a replay under a fresh timestamp fails).
    const stamp = d!.headers["x-ollama-coder-timestamp"] as string;
    const signature = `sha256=${createHmac("sha256", SECRET).update(`${stamp}.${d!.body}`).digest("hex")}`;
    expect(d!.headers["x-ollama-coder-signature"]).toBe(signature);
    expect(verifySignature(SECRET, stamp, d!.body, d!.headers["x-ollama-coder-signature"] as string)).toBe(
      true,
    );
    expect(verifySignature("another secret", stamp, d!.body, signature)).toBe(false);
    expect(verifySignature(SECRET, String(Number(stamp) + 60), d!.body, signature)).toBe(false);
    expect(d!.headers["content-type"]).toBe("application/json");
    expect(d!.headers["x-ollama-coder-event"]).toBe("job.completed");
    expect(Number(d!.headers["x-ollama-coder-timestamp"])).toBeGreaterThan(1_700_000_000);
    const sent = JSON.parse(d!.body);
    const answer = await waitForJobEnd(t, res.body.job_id);
    expect(sent).toMatchObject({ job_id: res.body.job_id, status: "completed", result: answer.result });
    await expect.poll(() => webhookOf(t, res.body.job_id).then((w) => w.state)).toBe("delivered");
    expect(await webhookOf(t, res.body.job_id)).toMatchObject({
      url: hook.url,
      state: "delivered",
      attempts: 1,
      last_status: 200,
      delivered_at: expect.any(Number),
    });
  });

  it("retries a non-2xx answer with backoff, then gives up after the last try without touching the job", async () => {
    const flaky = await receiver((n) => ({ status: n < 3 ? 500 : 204 }));
    const t = await app({ maxAttempts: 3 });
    const first = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{}],
      webhook_url: flaky.url,
    });
    await expect.poll(() => webhookOf(t, first.body.job_id).then((w) => w.state)).toBe("delivered");
    expect(await webhookOf(t, first.body.job_id)).toMatchObject({
      attempts: 3,
      last_status: 204,
      error: "HTTP 500",
    });
    expect(flaky.deliveries.map((d) => JSON.parse(d.body).job_id)).toEqual(Array(3).fill(first.body.job_id));
    // Each try carries the delivery as recorded so far (metadata.webhook.attempts before it).
    expect(flaky.deliveries.map((d) => JSON.parse(d.body).metadata.webhook.attempts)).toEqual([0, 1, 2]);

    const down = await receiver(() => ({ status: 503 }));
    const second = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{}],
      webhook_url: down.url,
    });
    await expect.poll(() => webhookOf(t, second.body.job_id).then((w) => w.state)).toBe("failed");
    expect(await webhookOf(t, second.body.job_id)).toMatchObject({
      attempts: 3,
      last_status: 503,
      error: "HTTP 503",
    });
    expect(down.deliveries).toHaveLength(3);
    expect((await t.request("GET", `/batch/jobs/${second.body.job_id}`)).body.status).toBe("completed");
  });

  it("never follows a redirect, and a receiver that is not there is a recorded error", async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const t = await app({ maxAttempts: 1 });
    const res = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{}],
      webhook_url: redirecting.url,
    });
    await expect.poll(() => webhookOf(t, res.body.job_id).then((w) => w.state)).toBe("failed");
    expect(await webhookOf(t, res.body.job_id)).toMatchObject({
      last_status: 302,
      error: "HTTP 302: redirects are not followed",
    });
    expect(elsewhere.deliveries).toHaveLength(0);
    const closed = await receiver();
    const closedUrl = closed.url;
    await new Promise((r) => receivers.pop()!.close(r));
    const refused = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{}],
      webhook_url: closedUrl,
    });
    await expect.poll(() => webhookOf(t, refused.body.job_id).then((w) => w.state)).toBe("failed");
    expect((await webhookOf(t, refused.body.job_id)).error).toBe("ECONNREFUSED");
  });

  it("a cancelled job's webhook is sent too", async () => {
    const hook = await receiver();
    const t = await app({ workers: 0 });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{}], webhook_url: hook.url });
    await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    await expect.poll(() => hook.deliveries.length).toBe(1);
    expect(JSON.parse(hook.deliveries[0]!.body)).toMatchObject({
      job_id: res.body.job_id,
      status: "cancelled",
    });
    expect(hook.deliveries[0]!.headers["x-ollama-coder-event"]).toBe("job.cancelled");
  });

  it("a running job's cancel is sent once its running items have stopped: their outcomes are in the answer", async () => {
    const hook = await receiver();
    let started = 0;
    // Takes a while to stop when aborted, as a command given its SIGTERM grace does.
    const slowToStop: Processor = {
      async processItem(_item, ctx) {
        started++;
        await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
        await new Promise((r) => setTimeout(r, 300));
        throw ctx.signal.reason;
      },
    };
    const t = await startTestApp({
      register: (r) => r.register("slow", slowToStop),
      config: { webhookSecret: SECRET },
      webhooks: FAST,
    });
    const res = await t.request("POST", "/batch/jobs", {
      type: "slow",
      items: [{ id: "r1" }, { id: "r2" }, { id: "q3" }],
      parallel: 2,
      chunk_size: 2,
      webhook_url: hook.url,
    });
    await expect.poll(() => started).toBe(2);
    await t.request("DELETE", `/batch/jobs/${res.body.job_id}`);
    await expect.poll(() => hook.deliveries.length).toBe(1);
    const sent = JSON.parse(hook.deliveries[0]!.body);
    expect(sent.status).toBe("cancelled");
    const statuses = Object.fromEntries(
      sent.result.results.map((r: { id: string; status: string }) => [r.id, r.status]),
    );
    expect(statuses.r1).toBe("cancelled");
    expect(statuses.r2).toBe("cancelled");
  });

  it("a retry's new job sends its own webhook to the same URL", async () => {
    const hook = await receiver();
    const failing: Processor = { processItem: async () => ({ status: "failed", error: "no" }) };
    const t = await startTestApp({
      register: (r) => r.register("failing", failing),
      config: { webhookSecret: SECRET },
      webhooks: FAST,
    });
    const res = await t.request("POST", "/batch/jobs", {
      type: "failing",
      items: [{}],
      webhook_url: hook.url,
      retry: { max_attempts: 1 }, // it fails at once, without automatic retries
    });
    await expect.poll(() => webhookOf(t, res.body.job_id).then((w) => w.state)).toBe("delivered");
    const retry = await t.request("POST", `/batch/jobs/${res.body.job_id}/retry`, {});
    expect(retry.status).toBe(200);
    expect(retry.body.metadata.webhook).toEqual({ url: hook.url, state: "pending", attempts: 0 });
    await expect.poll(() => hook.deliveries.length).toBe(2);
    expect(JSON.parse(hook.deliveries[1]!.body).job_id).toBe(retry.body.job_id);
  });

  it("a delivery owed when the server stopped is made after it starts again", async () => {
    let up = false;
    const hook = await receiver(() => ({ status: up ? 200 : 500 }));
    const dir = tempDir();
    const t = await startTestApp({
      dataDir: dir,
      register: (r) => r.register("noop", noopProcessor),
      config: { webhookSecret: SECRET },
      webhooks: { ...FAST, baseDelayMs: 60_000, maxDelayMs: 60_000 }, // the retry would come long after the stop
    });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{}], webhook_url: hook.url });
    await expect.poll(() => webhookOf(t, res.body.job_id).then((w) => w.attempts)).toBe(1);
    await t.app.stop();
    up = true;
    const again = await startTestApp({
      dataDir: dir,
      register: (r) => r.register("noop", noopProcessor),
      config: { webhookSecret: SECRET },
      webhooks: FAST,
    });
    // Due again only once its wait is over: the restarted server finds it in the store, no event needed.
    const job = await again.app.store.getJob(res.body.job_id);
    await again.app.queue.recordWebhook(res.body.job_id, {
      ...(job!.metadata.webhook as object),
      next_attempt_at: 0,
    });
    await expect.poll(() => webhookOf(again, res.body.job_id).then((w) => w.state)).toBe("delivered");
    expect(await webhookOf(again, res.body.job_id)).toMatchObject({ attempts: 2, last_status: 200 });
    expect(hook.deliveries).toHaveLength(2);
  });

  it("one process at a time takes a try: the claim is a lease in the store", async () => {
    const hook = await receiver();
    const t = await startTestApp({
      register: (r) => r.register("noop", noopProcessor),
      config: { workers: 0 },
      webhooks: { ...FAST, sweepMs: 3_600_000 },
    });
    const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{}], webhook_url: hook.url });
    const id = res.body.job_id;
    expect(await t.app.queue.claimWebhook(id, "a", 60)).toBe(false); // not ended: nothing is due
    await t.app.store.cancelJob(id, t.app.queue.nowSeconds()); // ended without an event: only a sweep finds it
    expect(await t.app.queue.dueWebhooks(10)).toEqual([id]);
    expect(await t.app.queue.claimWebhook(id, "a", 60)).toBe(true);
    expect(await t.app.queue.claimWebhook(id, "b", 60)).toBe(false);
    expect(await t.app.queue.dueWebhooks(10)).toEqual([]);
    expect(hook.deliveries).toHaveLength(0);
  });

  it("webhook_url must be an absolute http(s) URL to a port fetch sends to: a 422 otherwise, on every submit route", async () => {
    const t = await app({ workers: 0 });
    for (const [url, msg] of [
      ["file:///etc/passwd", "URL scheme should be 'http' or 'https' (got 'file')"],
      ["gopher://127.0.0.1:25/", "URL scheme should be 'http' or 'https' (got 'gopher')"],
      ["/relative/hook", "Input should be an absolute http:// or https:// URL"],
      ["http://user:pw@127.0.0.1/", "URL should not carry a user name or password"],
      [
        "http://127.0.0.1:6667/hook",
        `port 6667 is one that fetch refuses to send to (the Fetch standard's "bad ports": mail, IRC, …); use another port`,
      ],
    ]) {
      const res = await t.request("POST", "/batch/jobs", { type: "noop", items: [{}], webhook_url: url });
      expect(res.status).toBe(422);
      expect(res.body.detail).toEqual([{ loc: ["body", "webhook_url"], msg, type: "value_error.url" }]);
      const kind = await t.request("POST", "/batch/mcp-operations", {
        operations: [{ type: "list", path: "." }],
        webhook_url: url,
      });
      expect(kind.status).toBe(422);
      expect(kind.body.detail[0].loc).toEqual(["body", "webhook_url"]);
    }
    expect((await t.request("GET", "/batch/stats")).body.stats.total).toBe(0);
  });

  it("an answer larger than the cap goes without its results, saying where they are", async () => {
    const hook = await receiver();
    const t = await app({ maxBodyBytes: 2_000 });
    const res = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: Array.from({ length: 100 }, (_, i) => ({ id: `item-${i}` })),
      webhook_url: hook.url,
    });
    await expect.poll(() => hook.deliveries.length).toBe(1);
    const sent = JSON.parse(hook.deliveries[0]!.body);
    expect(sent.job_id).toBe(res.body.job_id);
    expect(sent.result.summary.total).toBe(100);
    expect(sent.result.results).toBeUndefined();
    expect(sent.results_omitted).toEqual({
      reason: "the answer with its results is larger than 2000 bytes",
      results_url: `/batch/jobs/${res.body.job_id}/results.jsonl`,
    });
  });
});
