import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QueueEvents } from "../src/queue/events.js";
import { JobQueue } from "../src/queue/job-queue.js";
import { ProcessorRegistry } from "../src/queue/processor.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { BACKEND, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { T0 } from "./helpers/memory-store.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const body = (n: number, extra: Record<string, unknown> = {}) => ({
  type: "noop",
  items: Array.from({ length: n }, (_, i) => ({ id: `s${i}` })),
  ...extra,
});

const register = (r: ProcessorRegistry) => r.register("noop", noopProcessor);

async function jobCount(t: TestApp): Promise<number> {
  return (await t.request("GET", "/batch/jobs")).body.total as number;
}

describe(`idempotent submits (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "the same key and request answer the first job; another request with it is a 409",
    async () => {
      const t = await startTestApp({ register });
      const key = { "Idempotency-Key": "nightly-2026-11-29" };
      const first = await t.request("POST", "/batch/jobs", body(3), key);
      expect(first.status).toBe(200);
      // The same request again, its fields in another order: the same job, not a new one.
      const again = await t.request("POST", "/batch/jobs", { items: body(3).items, type: "noop" }, key);
      expect(again.status).toBe(200);
      expect(again.body.job_id).toBe(first.body.job_id);
      // The key in the body instead of the header: the same.
      const inBody = await t.request(
        "POST",
        "/batch/jobs",
        body(3, { idempotency_key: "nightly-2026-11-29" }),
      );
      expect(inBody.body.job_id).toBe(first.body.job_id);
      const other = await t.request("POST", "/batch/jobs", body(4), key);
      expect(other.status).toBe(409);
      expect(other.body.detail).toMatch(
        /Idempotency key 'nightly-2026-11-29' was used within the last 24 hours for a different request \(job noop-[0-9a-f]{12}\)/,
      );
      expect(await jobCount(t)).toBe(1);
      // Without a key, or with another one: new jobs.
      expect((await t.request("POST", "/batch/jobs", body(3))).body.job_id).not.toBe(first.body.job_id);
      expect((await t.request("POST", "/batch/jobs", body(3), { "Idempotency-Key": "k2" })).status).toBe(200);
      expect(await jobCount(t)).toBe(3);
    },
  );

  it.runIf(enabled)("a malformed key, or a header and a body field that disagree, are 422s", async () => {
    const t = await startTestApp({ register });
    const spaced = await t.request("POST", "/batch/jobs", body(1), { "Idempotency-Key": "has space" });
    expect(spaced.status).toBe(422);
    expect(JSON.stringify(spaced.body.detail)).toMatch(/printable ASCII/);
    const both = await t.request("POST", "/batch/jobs", body(1, { idempotency_key: "a" }), {
      "Idempotency-Key": "b",
    });
    expect(both.status).toBe(422);
    expect(JSON.stringify(both.body.detail)).toMatch(/differs from the Idempotency-Key header/);
    const long = await t.request("POST", "/batch/jobs", body(1, { idempotency_key: "x".repeat(256) }));
    expect(long.status).toBe(422);
    expect(await jobCount(t)).toBe(0);
  });

  it.runIf(enabled)("concurrent duplicates make exactly one job", async () => {
    const t = await startTestApp({ register });
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.request("POST", "/batch/jobs", body(2_000), { "Idempotency-Key": "burst" }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.body.job_id)).size).toBe(1);
    expect(await jobCount(t)).toBe(1);
  });

  it.runIf(enabled)("a key holds across a restart", async () => {
    const first = await startTestApp({ register });
    const dir = join(first.app.config.dataDir, "..");
    const a = await first.request("POST", "/batch/jobs", body(2), { "Idempotency-Key": "k" });
    await first.app.stop();
    const second = await startTestApp({ register, dataDir: dir });
    const b = await second.request("POST", "/batch/jobs", body(2), { "Idempotency-Key": "k" });
    expect(b.status).toBe(200);
    expect(b.body.job_id).toBe(a.body.job_id);
    expect((await second.request("POST", "/batch/jobs", body(5), { "Idempotency-Key": "k" })).status).toBe(
      409,
    );
  });

  it.runIf(BACKEND === "postgres" && enabled)(
    "a key holds across two API nodes on one database",
    async () => {
      const a = await startTestApp({ register });
      const b = await startTestApp({ register, dataDir: join(a.app.config.dataDir, "..") });
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).request("POST", "/batch/jobs", body(500), { "Idempotency-Key": "two-nodes" }),
        ),
      );
      expect(new Set(answers.map((r) => r.body.job_id)).size).toBe(1);
      expect(await jobCount(a)).toBe(1);
    },
  );

  it.runIf(enabled)("a purged job frees its key", async () => {
    const t = await startTestApp({ register });
    const a = await t.request("POST", "/batch/jobs", body(1), { "Idempotency-Key": "k" });
    await waitForJobEnd(t, a.body.job_id);
    expect((await t.request("DELETE", `/batch/jobs/${a.body.job_id}?purge=true`)).status).toBe(200);
    const b = await t.request("POST", "/batch/jobs", body(1), { "Idempotency-Key": "k" });
    expect(b.status).toBe(200);
    expect(b.body.job_id).not.toBe(a.body.job_id);
  });

  it.runIf(enabled)("keys last 24 hours: an expired one is taken afresh, and swept", async () => {
    const store = await openTestStore();
    const day = 86_400;
    expect(await store.claimIdempotencyKey("k", "f1", "job-1", T0, T0 - day)).toBeNull();
    expect(await store.claimIdempotencyKey("k", "f2", "job-2", T0 + 10, T0 + 10 - day)).toEqual({
      fingerprint: "f1",
      jobId: "job-1",
      createdAt: T0,
    });
    // A day and a second later, the key is free: taken by the new request.
    expect(await store.claimIdempotencyKey("k", "f2", "job-2", T0 + day + 1, T0 + 1)).toBeNull();
    expect(await store.claimIdempotencyKey("k", "f3", "job-3", T0 + day + 2, T0 + 2)).toEqual({
      fingerprint: "f2",
      jobId: "job-2",
      createdAt: T0 + day + 1,
    });
    await store.releaseIdempotencyKey("k", "job-1"); // not its holder: nothing happens
    expect(await store.dropExpiredIdempotencyKeys(T0 + day)).toBe(0);
    expect(await store.dropExpiredIdempotencyKeys(T0 + day + 2)).toBe(1);
    expect(await store.claimIdempotencyKey("k", "f3", "job-3", T0 + day + 3, T0 + 3)).toBeNull();
    await store.close();
  });

  it.runIf(enabled)(
    "a key whose first request died before its job was stored is taken over once its time is up",
    async () => {
      const store = await openTestStore();
      const clock = new FakeClock(T0 * 1000);
      const registry = new ProcessorRegistry();
      registry.register("noop", noopProcessor);
      const queue = new JobQueue(store, registry, new QueueEvents(), clock);
      const idem = { key: "crashed", fingerprint: "fp" };
      // A request took the key 61 s ago, and its process died before storing its job.
      expect(
        await store.claimIdempotencyKey("crashed", "fp", "noop-000000000dead", T0 - 61, T0 - 86_400),
      ).toBeNull();
      const job = await queue.submit({
        type: "noop",
        items: [{ id: "a" }],
        chunkSize: 1,
        parallel: 1,
        idempotency: idem,
      });
      expect(job.id).not.toBe("noop-000000000dead");
      const again = await queue.submit({
        type: "noop",
        items: [{ id: "a" }],
        chunkSize: 1,
        parallel: 1,
        idempotency: idem,
      });
      expect(again.id).toBe(job.id);
      // Another request's key is never taken over, however old its holder.
      expect(
        await store.claimIdempotencyKey("other", "fp-other", "noop-00000000dead2", T0 - 600, T0 - 86_400),
      ).toBeNull();
      await expect(
        queue.submit({
          type: "noop",
          items: [{ id: "a" }],
          chunkSize: 1,
          parallel: 1,
          idempotency: { key: "other", fingerprint: "fp" },
        }),
      ).rejects.toThrow(/used within the last 24 hours for a different request/);
      await store.close();
    },
  );
});
