import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ProcessorRegistry } from "../src/queue/processor.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { BACKEND, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { newJob, T0 } from "./helpers/memory-store.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const register = (r: ProcessorRegistry) => r.register("noop", noopProcessor);
const body = (extra: Record<string, unknown> = {}) => ({
  type: "noop",
  items: [{ id: "a" }, { id: "b" }],
  ...extra,
});

describe(`jobs that run later (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)("the store hands out a job only once its run_at has come", async () => {
    const store = await openTestStore();
    await store.createJob(newJob("unit-later000001", 2, { runAt: T0 + 60 }));
    expect(await store.nextRunnableJob([], T0)).toBeNull();
    expect(await store.nextRunnableJob([], T0 + 59.9)).toBeNull();
    expect((await store.nextRunnableJob([], T0 + 60))?.id).toBe("unit-later000001");
    await store.createJob(newJob("unit-now00000001", 2, { createdAt: T0 + 1 }));
    expect((await store.nextRunnableJob([], T0))?.id).toBe("unit-now00000001");
    await store.close();
  });

  it.runIf(enabled)("delay_seconds and run_at keep a job queued until then, then it runs", async () => {
    const t = await startTestApp({ register });
    const submitted = t.app.queue.nowSeconds();
    const later = await t.request("POST", "/batch/jobs", body({ delay_seconds: 1.5 }));
    expect(later.status).toBe(200);
    expect(later.body.status).toBe("queued");
    const runAt = later.body.metadata.run_at as number;
    expect(runAt).toBeGreaterThanOrEqual(submitted + 1.5);
    const iso = new Date((submitted + 1.5) * 1000).toISOString();
    const atIso = await t.request("POST", "/batch/validation", { targets: [{ path: "x" }], run_at: iso });
    expect(atIso.status).toBe(200);
    expect(atIso.body.metadata.run_at).toBeCloseTo(Date.parse(iso) / 1000, 3);
    // A job without a time, submitted after, runs first.
    const now = await t.request("POST", "/batch/jobs", body());
    await waitForJobEnd(t, now.body.job_id);
    expect((await t.request("GET", `/batch/jobs/${later.body.job_id}`)).body.status).toBe("queued");
    const done = await waitForJobEnd(t, later.body.job_id);
    expect(done.status).toBe("completed");
    expect(done.started_at).toBeGreaterThanOrEqual(runAt);
    expect(done.started_at - runAt).toBeLessThan(5); // a generous bound: the point is that it ran
  });

  it.runIf(enabled)("a time in the past runs at once; bad times are 422s", async () => {
    const t = await startTestApp({ register });
    const past = await t.request("POST", "/batch/jobs", body({ run_at: 1_000 }));
    expect(past.status).toBe(200);
    expect(past.body.metadata.run_at).toBeUndefined();
    await waitForJobEnd(t, past.body.job_id);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ run_at: 1_000, delay_seconds: 5 }, /run_at or delay_seconds, not both/],
      [{ run_at: "tomorrow" }, /ISO 8601 date-time with an offset/],
      [{ run_at: "2026-12-01T02:00:00" }, /with an offset/], // no zone: refused, not guessed
      [{ run_at: "2026-02-30T02:00:00Z" }, /not a real date-time/],
      [{ run_at: Date.now() }, /more than a year ahead \(epoch seconds, not milliseconds\?\)/],
      [{ delay_seconds: -1 }, /delay_seconds/],
    ];
    for (const [extra, message] of cases) {
      const r = await t.request("POST", "/batch/jobs", body(extra));
      expect(r.status, JSON.stringify(extra)).toBe(422);
      expect(JSON.stringify(r.body.detail)).toMatch(message);
    }
  });

  it.runIf(enabled)("a job waiting for its time survives a restart and runs after it", async () => {
    const first = await startTestApp({ register });
    const dir = join(first.app.config.dataDir, "..");
    const later = await first.request("POST", "/batch/jobs", body({ delay_seconds: 1 }));
    const id = later.body.job_id as string;
    await first.app.stop();
    const second = await startTestApp({ register, dataDir: dir });
    const done = await waitForJobEnd(second, id);
    expect(done.status).toBe("completed");
    expect(done.started_at).toBeGreaterThanOrEqual(later.body.metadata.run_at);
  });

  it.runIf(enabled)("a job waiting for its time can be cancelled", async () => {
    const t = await startTestApp({ register });
    const later = await t.request("POST", "/batch/jobs", body({ delay_seconds: 3600 }));
    expect((await t.request("DELETE", `/batch/jobs/${later.body.job_id}`)).status).toBe(200);
    expect((await t.request("GET", `/batch/jobs/${later.body.job_id}`)).body.status).toBe("cancelled");
  });
});
