import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { submitGenericJob } from "../src/api/generic-submit.js";
import type { GenericJobBody } from "../src/api/schemas.js";
import type { ProcessorRegistry } from "../src/queue/processor.js";
import { Schedules } from "../src/queue/schedules.js";
import type { ScheduleRecord } from "../src/store/job-store.js";
import { StoreUnavailableError } from "../src/store/transient-error.js";
import { silentLogger } from "../src/util/logger.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { BACKEND, openTestStore, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { T0 } from "./helpers/memory-store.js";
import { runCli } from "./helpers/server-process.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const register = (r: ProcessorRegistry) => r.register("noop", noopProcessor);
const MINUTE = 60_000;
/** A POST without a body still says it is JSON (the browser guard refuses it otherwise). */
const JSON_TYPE = { "content-type": "application/json" };

/** A schedule every minute (T0, the fake clock's start, is on a minute) that submits a one-item noop job. */
const everyMinute = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  cron: "* * * * *",
  timezone: "UTC",
  job: { type: "noop", items: [{ id: "a" }] },
  ...extra,
});

/** Fires what is due on the fake clock, and waits for every look at the store this node began. */
async function tick(...nodes: TestApp[]): Promise<void> {
  for (const t of nodes) await t.app.schedules.idle();
  await Promise.all(nodes.map((t) => t.app.schedules.fireDue()));
  for (const t of nodes) await t.app.schedules.idle();
}

/** The jobs a schedule made, by tick. */
async function firings(t: TestApp, name: string): Promise<{ id: string; firedAt: number }[]> {
  const { jobs } = await t.app.store.listJobs({ limit: 1000, offset: 0 });
  return jobs
    .filter((j) => (j.metadata.schedule as { name?: string } | undefined)?.name === name)
    .map((j) => ({ id: j.id, firedAt: (j.metadata.schedule as { fired_at: number }).fired_at }))
    .sort((a, b) => a.firedAt - b.firedAt);
}

describe(`recurring schedules (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)("a schedule every minute fires at each minute; its job runs and completes", async () => {
    const clock = new FakeClock();
    const t = await startTestApp({ register, clock });
    const created = await t.request("POST", "/batch/schedules", everyMinute("minutely"));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      name: "minutely",
      cron: "* * * * *",
      timezone: "UTC",
      paused: false,
      next_run_at: T0 + 60,
      last_fired_at: null,
      last_job_id: null,
      job: { type: "noop", items: [{ id: "a" }], chunk_size: 100, parallel: 5, options: {} },
    });
    await tick(t);
    expect(await firings(t, "minutely")).toEqual([]);
    clock.advance(MINUTE);
    await tick(t);
    clock.advance(MINUTE);
    await tick(t);
    const made = await firings(t, "minutely");
    expect(made.map((f) => f.firedAt)).toEqual([T0 + 60, T0 + 120]);
    const shown = await t.request("GET", "/batch/schedules/minutely");
    expect(shown.body).toMatchObject({
      next_run_at: T0 + 180,
      last_fired_at: T0 + 120,
      last_job_id: made[1]!.id,
    });
    const done = await waitForJobEnd(t, made[1]!.id);
    expect(done.status).toBe("completed");
    expect(done.metadata.schedule).toEqual({ name: "minutely", fired_at: T0 + 120 });
    const list = await t.request("GET", "/batch/schedules");
    expect(list.body.schedules.map((s: { name: string }) => s.name)).toEqual(["minutely"]);
  });

  it.runIf(enabled)(
    "a paused schedule does not fire; resumed, it fires the next tick, not the missed ones",
    async () => {
      const clock = new FakeClock();
      const t = await startTestApp({ register, clock });
      await t.request("POST", "/batch/schedules", everyMinute("pausable"));
      const paused = await t.request("POST", "/batch/schedules/pausable/pause", undefined, JSON_TYPE);
      expect(paused.status).toBe(200);
      expect(paused.body.paused).toBe(true);
      clock.advance(MINUTE);
      await tick(t);
      clock.advance(MINUTE);
      await tick(t);
      expect(await firings(t, "pausable")).toEqual([]);
      const resumed = await t.request("POST", "/batch/schedules/pausable/resume", undefined, JSON_TYPE);
      expect(resumed.body).toMatchObject({ paused: false, next_run_at: T0 + 180 });
      await tick(t);
      expect(await firings(t, "pausable")).toEqual([]);
      clock.advance(MINUTE);
      await tick(t);
      expect((await firings(t, "pausable")).map((f) => f.firedAt)).toEqual([T0 + 180]);
    },
  );

  it.runIf(enabled)(
    "a schedule's job keeps its priority; one out of range is refused at creation",
    async () => {
      const clock = new FakeClock();
      const t = await startTestApp({ register, clock, config: { workers: 0 } });
      const bad = await t.request("POST", "/batch/schedules", {
        ...everyMinute("urgent"),
        job: { type: "noop", items: [{ id: "a" }], priority: 101 },
      });
      expect(bad.status).toBe(422);
      const created = await t.request("POST", "/batch/schedules", {
        ...everyMinute("urgent"),
        job: { type: "noop", items: [{ id: "a" }], priority: 7 },
      });
      expect(created.body.job).toMatchObject({ priority: 7 });
      clock.advance(MINUTE);
      await tick(t);
      const [fired] = await firings(t, "urgent");
      expect((await t.request("GET", `/batch/jobs/${fired!.id}`)).body.priority).toBe(7);
    },
  );

  it.runIf(enabled)("ticks missed while the server was down run once at start", async () => {
    const clock = new FakeClock();
    const first = await startTestApp({ register, clock });
    const dir = join(first.app.config.dataDir, "..");
    await first.request("POST", "/batch/schedules", everyMinute("missed"));
    await first.app.stop();
    clock.advance(60 * MINUTE);
    const second = await startTestApp({ register, clock, dataDir: dir });
    await second.app.schedules.idle();
    const made = await firings(second, "missed");
    expect(made.map((f) => f.firedAt)).toEqual([T0 + 3600]);
    const shown = (await second.request("GET", "/batch/schedules/missed")).body;
    expect(shown).toMatchObject({
      next_run_at: T0 + 3660,
      last_fired_at: T0 + 3600,
      last_job_id: made[0]!.id,
    });
    expect((await waitForJobEnd(second, made[0]!.id)).status).toBe("completed");
  });

  it.runIf(enabled)("the store gives a tick to exactly one of the callers that race for it", async () => {
    const store = await openTestStore();
    const record: ScheduleRecord = {
      name: "race",
      cron: "* * * * *",
      timezone: "UTC",
      job: { type: "noop" },
      paused: false,
      nextRunAt: T0 + 60,
      lastFiredAt: null,
      lastJobId: null,
      createdAt: T0,
    };
    expect(await store.createSchedule(record)).toBe(true);
    expect(await store.createSchedule(record)).toBe(false);
    const won = await Promise.all(
      Array.from({ length: 8 }, () => store.claimScheduleTick("race", T0 + 60, T0 + 60, T0 + 120)),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await store.getSchedule("race")).toMatchObject({ nextRunAt: T0 + 120, lastFiredAt: T0 + 60 });
    await store.setSchedulePaused("race", true, T0 + 120);
    expect(await store.claimScheduleTick("race", T0 + 120, T0 + 120, T0 + 180)).toBe(false);
    await store.close();
  });

  it.runIf(BACKEND === "postgres" && enabled)(
    "two API nodes on one database never fire the same tick twice",
    async () => {
      const clock = new FakeClock();
      const a = await startTestApp({ register, clock });
      const dir = join(a.app.config.dataDir, "..");
      const b = await startTestApp({ register, clock, dataDir: dir });
      expect(a.app.config.databaseUrl).toBe(b.app.config.databaseUrl);
      await a.request("POST", "/batch/schedules", everyMinute("shared"));
      for (let i = 0; i < 5; i++) {
        clock.advance(MINUTE);
        await tick(a, b);
      }
      const made = await firings(a, "shared");
      expect(made.map((f) => f.firedAt)).toEqual([1, 2, 3, 4, 5].map((n) => T0 + 60 * n));
    },
  );

  it.runIf(enabled)(
    "bad schedules are 422s with the reason; unknown names 404s; a taken name 409",
    async () => {
      const t = await startTestApp({ register });
      const cases: [Record<string, unknown>, RegExp][] = [
        [everyMinute("c1", { cron: "not a cron" }), /cron takes five fields/],
        [everyMinute("c2", { cron: "61 * * * *" }), /invalid cron '61 \* \* \* \*'/],
        [everyMinute("c3", { timezone: "Mars/Olympus" }), /unknown time zone 'Mars\/Olympus'/],
        [everyMinute("c4", { job: { type: "nosuch", items: [{ id: "a" }] } }), /job type/],
        [everyMinute("c5", { job: { type: "noop", items: [] } }), /items/],
        [everyMinute("c6", { job: { type: "noop", items: [{ id: "a" }], colour: "red" } }), /colour/],
        [everyMinute("c7", { job: { type: "noop", items: [{ id: "a" }], run_at: 5 } }), /run_at/],
        [
          everyMinute("c8", {
            job: { type: "batch_validation", items: [{ path: "x" }], options: { bogus: 1 } },
          }),
          /bogus/,
        ],
        [everyMinute("c9", { job: { type: "noop", items: [{ id: "a" }, { id: "a" }] } }), /Duplicate id/],
        [everyMinute("bad name!"), /name/],
        [{ ...everyMinute("c10"), extra: 1 }, /extra/],
      ];
      for (const [body, message] of cases) {
        const r = await t.request("POST", "/batch/schedules", body);
        expect(r.status, JSON.stringify(body)).toBe(422);
        expect(JSON.stringify(r.body.detail), JSON.stringify(body)).toMatch(message);
      }
      const located = await t.request(
        "POST",
        "/batch/schedules",
        everyMinute("c11", {
          job: { type: "batch_validation", items: [{ path: "x" }], options: { bogus: 1 } },
        }),
      );
      expect(located.body.detail[0].loc.slice(0, 3)).toEqual(["body", "job", "options"]);
      expect((await t.request("GET", "/batch/schedules")).body.schedules).toEqual([]);
      for (const [method, path] of [
        ["GET", "/batch/schedules/nosuch"],
        ["DELETE", "/batch/schedules/nosuch"],
        ["POST", "/batch/schedules/nosuch/pause"],
        ["POST", "/batch/schedules/nosuch/resume"],
      ] as const) {
        const r = await t.request(method, path, undefined, method === "POST" ? JSON_TYPE : {});
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.detail).toMatch(/no schedule named 'nosuch'/);
      }
      expect((await t.request("POST", "/batch/schedules", everyMinute("taken"))).status).toBe(200);
      const again = await t.request("POST", "/batch/schedules", everyMinute("taken"));
      expect(again.status).toBe(409);
      expect(again.body.detail).toMatch(/a schedule named 'taken' exists/);
      const deleted = await t.request("DELETE", "/batch/schedules/taken");
      expect(deleted.body).toEqual({ status: "deleted", name: "taken" });
      expect((await t.request("GET", "/batch/schedules/taken")).status).toBe(404);
    },
  );

  // The CLI talks HTTP: once, on SQLite, is enough.
  it.runIf(BACKEND === "sqlite")(
    "the CLI creates, lists, pauses, resumes and deletes schedules",
    async () => {
      const t = await startTestApp({ register });
      const cli = (...args: string[]) => runCli([...args, "--server", t.url]);
      const job = JSON.stringify({ type: "noop", items: [{ id: "a" }] });
      const created = await runCli(
        [
          "schedule",
          "create",
          "nightly",
          "-",
          "--cron",
          "0 2 * * *",
          "--timezone",
          "Europe/Paris",
          "--server",
          t.url,
        ],
        {},
        job,
      );
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^nightly {2}'0 2 \* \* \*' Europe\/Paris {2}next \d{4}-.*never fired/);
      const bad = await runCli(["schedule", "create", "x", "-", "--cron", "* *", "--server", t.url], {}, job);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/422: body\.cron: cron takes five fields/);
      expect((await cli("schedule", "pause", "nightly")).stdout).toMatch(/nightly .* paused/);
      expect((await cli("schedules")).stdout).toMatch(/^nightly .* paused/);
      expect((await cli("schedule", "resume", "nightly")).stdout).toMatch(/nightly .* next /);
      expect((await cli("schedule", "delete", "nightly")).stdout).toMatch(/nightly: deleted/);
      expect((await cli("schedules")).stdout.trim()).toBe("no schedules");
      const missing = await cli("schedule", "pause", "nightly");
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/404: no schedule named 'nightly'/);
    },
  );

  it.runIf(enabled)(
    "an API-only node (--workers 0) fires too; OpenAPI names the schedule shapes",
    async () => {
      const clock = new FakeClock();
      const t = await startTestApp({ register, clock, config: { workers: 0 } });
      await t.request("POST", "/batch/schedules", everyMinute("api-only"));
      clock.advance(MINUTE);
      await tick(t);
      const [made] = await firings(t, "api-only");
      expect((await t.request("GET", `/batch/jobs/${made!.id}`)).body.status).toBe("queued");
      const spec = (await t.request("GET", "/openapi.json")).body;
      for (const p of ["/batch/schedules", "/batch/schedules/{name}", "/batch/schedules/{name}/pause"])
        expect(Object.keys(spec.paths)).toContain(p);
      expect(Object.keys(spec.components.schemas)).toEqual(
        expect.arrayContaining(["Schedule", "ScheduleList"]),
      );
      expect(Object.keys(spec.components.requestBodies)).toContain("ScheduleRequest");
    },
  );

  it.runIf(enabled)(
    "a firing the store cannot take is tried again, not lost; a node that dies between submitting and taking the tick makes no second job",
    async () => {
      const clock = new FakeClock();
      const t = await startTestApp({ register, clock });
      await t.app.schedules.stop(); // driven by hand below
      await t.request("POST", "/batch/schedules", everyMinute("sturdy"));
      clock.advance(MINUTE);
      let faults = 2;
      const node = (dieAfterSubmit: boolean) =>
        new Schedules(t.app.store, {
          fire: async (s, firedAt, idempotency) => {
            if (faults-- > 0) throw new StoreUnavailableError("the database is restarting");
            const job = await submitGenericJob(t.app.queue, s.job as GenericJobBody, {
              metadata: { schedule: { name: s.name, fired_at: firedAt } },
              idempotency,
            });
            if (dieAfterSubmit) throw new Error("the process died");
            return job.id;
          },
          log: silentLogger,
          clock,
        });
      const a = node(true);
      expect(await a.fireDue()).toBe(0); // the store refused: the tick stays due
      expect(await a.fireDue()).toBe(0);
      expect((await t.app.store.getSchedule("sturdy"))?.nextRunAt).toBe(T0 + 60);
      expect(await a.fireDue()).toBe(1); // submitted, then "died": a permanent fault takes the tick
      const made = await firings(t, "sturdy");
      expect(made.map((f) => f.firedAt)).toEqual([T0 + 60]);
      // The same tick fired again (a takeover before the tick moved) gets the same job back.
      await t.app.store.claimScheduleTick("sturdy", T0 + 120, T0 + 60, T0 + 60); // put the tick back
      expect(await node(false).fireDue()).toBe(1);
      expect((await firings(t, "sturdy")).map((f) => f.id)).toEqual(made.map((f) => f.id));
      expect((await t.app.store.getSchedule("sturdy"))?.lastJobId).toBe(made[0]?.id);
    },
  );

  it.runIf(enabled)("the loop wakes by itself at the next tick", async () => {
    // A clock set, once the app runs, to a few seconds before a minute starts (time enough to create the
    // schedule): the loop's own timer has that tick to fire.
    let offset = 0;
    const t = await startTestApp({ register, clock: { now: () => Date.now() + offset } });
    offset = 60_000 - (Date.now() % 60_000) - 4_000;
    const submitted = new Promise<string>((resolve) => {
      const off = t.app.events.on("job:submitted", ({ jobId }) => {
        off();
        resolve(jobId);
      });
    });
    await t.request("POST", "/batch/schedules", everyMinute("by-itself"));
    const jobId = await submitted;
    await t.app.schedules.idle();
    expect((await t.request("GET", "/batch/schedules/by-itself")).body.last_job_id).toBe(jobId);
    expect((await waitForJobEnd(t, jobId)).metadata.schedule.name).toBe("by-itself");
  });
});
