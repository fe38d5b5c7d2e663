import { join } from "node:path";
import { afterEach } from "vitest";
import { type App, type CreateAppOptions, createApp } from "../../src/app.js";
import { resolveServerConfig, type ServerConfigInput } from "../../src/config/server-config.js";
import type { ProcessorRegistry } from "../../src/queue/processor.js";
import type { WorkerPoolOptions } from "../../src/queue/worker-pool.js";
import { silentLogger } from "../../src/util/logger.js";
import { BACKEND, freshDatabaseUrl, postgresAvailable, type TestLocation } from "./backend.js";
import { tempDir } from "./temp.js";

/** One PostgreSQL schema per data dir, so a restart on the same dir finds the same database. */
const urls = new Map<string, string>();
function databaseUrlFor(dir: string): string {
  let url = urls.get(dir);
  if (!url) {
    url = freshDatabaseUrl();
    urls.set(dir, url);
  }
  return url;
}

/** Where an app's store lives (to inspect or reopen it). */
export function locationOf(app: App): TestLocation {
  return { databasePath: app.config.databasePath, databaseUrl: app.config.databaseUrl };
}

export interface TestApp {
  app: App;
  url: string;
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
}

export interface TestResponse {
  status: number;
  body: any;
  headers: Headers;
  text: string;
}

const running: App[] = [];

/** A real server on 127.0.0.1 with its own data dir and project root. */
export async function startTestApp(
  options: {
    config?: ServerConfigInput;
    /** The processors to register; the built-in ones with `builtins`, none when neither is given. */
    register?: (registry: ProcessorRegistry) => void;
    builtins?: boolean;
    pool?: Partial<WorkerPoolOptions>;
    webhooks?: CreateAppOptions["webhooks"];
    dataDir?: string;
    /** The clock schedules fire by. */
    clock?: CreateAppOptions["clock"];
  } = {},
): Promise<TestApp> {
  const dir = options.dataDir ?? tempDir();
  if (BACKEND === "postgres" && !(await postgresAvailable())) throw new Error("PostgreSQL is not available");
  const config = resolveServerConfig({
    port: 0,
    dataDir: join(dir, "data"),
    projectRoot: join(dir, "project"),
    logLevel: "silent",
    graceSeconds: 2,
    // Tests write jobs that ended in 1970 (helpers/ended-job.ts): no retention sweep unless a test asks.
    retentionDays: 0,
    ...(BACKEND === "postgres" ? { databaseUrl: databaseUrlFor(dir) } : {}),
    ...options.config,
  });
  const app = await createApp(config, {
    log: silentLogger,
    registerProcessors: options.builtins ? undefined : ({ registry }) => options.register?.(registry),
    pool: { flushMs: 10, pollMs: 200, ...options.pool },
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  running.push(app);
  const url = await app.start();
  return {
    app,
    url,
    async request(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: res.status, body: parsed, headers: res.headers, text };
    },
  };
}

afterEach(async () => {
  for (const app of running.splice(0)) await app.stop();
});

/** Waits until a job reaches one of the end states (event-driven, with a safety timeout). */
export async function waitForJobEnd(t: TestApp, jobId: string, timeoutMs = 20_000): Promise<any> {
  const ended = () =>
    t.app.store
      .getJob(jobId)
      .then((j) => j !== null && ["completed", "failed", "cancelled"].includes(j.status));
  if (!(await ended())) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`job ${jobId} did not end within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = t.app.events.on("job:finished", (e) => {
        if (e.jobId !== jobId) return;
        clearTimeout(timer);
        off();
        resolve();
      });
      void ended().then((done) => {
        if (done) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }
  return (await t.request("GET", `/batch/jobs/${jobId}`)).body;
}
