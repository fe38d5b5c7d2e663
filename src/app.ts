import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { submitGenericJob } from "./api/generic-submit.js";
import { Metrics } from "./api/metrics.js";
import { OriginPolicy } from "./api/origin-policy.js";
import type { GenericJobBody } from "./api/schemas.js";
import { buildApi } from "./api/server.js";
import { WEBHOOK_DEFAULTS, WebhookDispatcher, type WebhookOptions } from "./api/webhooks/webhook-delivery.js";
import { stepInputsResolver } from "./api/workflow-submit.js";
import type { ServerConfig } from "./config/server-config.js";
import { ConfigError, errorMessage } from "./errors.js";
import { registerBuiltinProcessors } from "./processors/builtin.js";
import { BUILTIN_KINDS } from "./processors/builtin-kinds.js";
import type { Clock } from "./queue/clock.js";
import { bridgeEvents } from "./queue/event-bridge.js";
import { QueueEvents } from "./queue/events.js";
import { logJobLifecycle } from "./queue/job-log.js";
import { JobQueue } from "./queue/job-queue.js";
import { ProcessorRegistry } from "./queue/processor.js";
import type { ModelHostStatus, Register, RegisterContext } from "./queue/register-context.js";
import { Retention } from "./queue/retention.js";
import { Schedules } from "./queue/schedules.js";
import { WorkerPool } from "./queue/worker-pool.js";
import type { JobStore } from "./store/job-store.js";
import { openStore } from "./store/open-store.js";
import { lockDataDir } from "./store/sqlite/data-dir-lock.js";
import { watchWritable } from "./store/writable-watch.js";
import { consoleLogger, type Logger } from "./util/logger.js";
import { connectionBudget, openFileLimit } from "./util/open-file-limit.js";

/**
 * The two forms a plugin module's `register` (named or default export) may take:
 * - current: `register(ctx)` with ctx = { registry, config, log, hooks } (RegisterContext), the signature
 *   the built-in processors use too; the module says so with `export const registerTakes = "context"`;
 * - original: `register(registry, config)`, still accepted: a module without that export is called so.
 * The form is declared, never guessed from the function (its arity says nothing reliable:
 * `register(registry)` and `register(ctx)` both have one parameter).
 */
export type PluginRegister = (registry: ProcessorRegistry, config: ServerConfig) => void | Promise<void>;

interface PluginModule {
  register?: unknown;
  default?: unknown;
  registerTakes?: unknown;
}

export interface App {
  config: ServerConfig;
  store: JobStore;
  queue: JobQueue;
  registry: ProcessorRegistry;
  events: QueueEvents;
  pool: WorkerPool | null;
  /** Recurring schedules; their firing loop runs while the app does. */
  schedules: Schedules;
  api: FastifyInstance;
  /** Listens, then starts the workers (recovering what a dead process left). Returns the bound URL. */
  start(): Promise<string>;
  /** Graceful stop: workers first (grace period; the API keeps answering meanwhile), then HTTP, then the store. */
  stop(): Promise<void>;
}

/** Loads each configured plugin and calls its `register` in the form the module declares. */
export async function loadPlugins(ctx: RegisterContext): Promise<void> {
  for (const spec of ctx.config.plugins) {
    // A path (relative or absolute, or any file that exists) is loaded as a file; anything else as a package.
    const isPath = spec.startsWith(".") || spec.startsWith("/") || existsSync(spec);
    const url = isPath ? pathToFileURL(resolve(spec)).href : spec;
    let mod: PluginModule;
    try {
      mod = (await import(url)) as PluginModule;
    } catch (e: unknown) {
      throw new ConfigError(`cannot load plugin ${spec}: ${errorMessage(e)}`);
    }
    const register = mod.register ?? mod.default;
    if (typeof register !== "function")
      throw new ConfigError(`plugin ${spec} exports no register(ctx) or register(registry, config) function`);
    if (mod.registerTakes === "context") await (register as Register)(ctx);
    else if (mod.registerTakes === undefined) await (register as PluginRegister)(ctx.registry, ctx.config);
    else
      throw new ConfigError(
        `plugin ${spec}: registerTakes must be "context" (or absent for register(registry, config))`,
      );
  }
}

export interface CreateAppOptions {
  log?: Logger;
  /** The pino logger `log` writes through, for Fastify to log through too (one stream of JSON lines). */
  pino?: FastifyBaseLogger;
  /** Registers processors before plugins load; the built-in ones when absent. */
  registerProcessors?: Register;
  pool?: Partial<ConstructorParameters<typeof WorkerPool>[3]>;
  /** Webhook delivery settings (tries, backoff, time limit); the secret comes from the config. */
  webhooks?: Partial<Omit<WebhookOptions, "secret" | "log">>;
  /** The clock schedules fire by (a test's fake one); the system's when absent. */
  clock?: Clock;
}

/** Delivers ended jobs' webhooks from this process (serve and worker alike). */
function webhookDispatcher(
  queue: JobQueue,
  events: QueueEvents,
  config: ServerConfig,
  log: Logger,
  options: CreateAppOptions,
): WebhookDispatcher {
  return new WebhookDispatcher(queue, events, {
    ...WEBHOOK_DEFAULTS,
    ...options.webhooks,
    secret: config.webhookSecret,
    log,
  });
}

/** The project root, created when missing; a file in its place is said plainly (not a raw EEXIST). */
function makeProjectRoot(root: string): void {
  try {
    mkdirSync(root, { recursive: true });
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR")
      throw new ConfigError(`project root ${root} is not a directory: point --project-root at your project`);
    throw e;
  }
}

/** A registry with the built-in job kinds declared: their submit routes are the REST contract. */
function builtinRegistry(): ProcessorRegistry {
  const registry = new ProcessorRegistry();
  for (const kind of BUILTIN_KINDS) registry.declare(kind);
  return registry;
}

/** The processors: those options name (the built-in ones when none are named), then the plugins. */
async function registerAll(options: CreateAppOptions, ctx: RegisterContext): Promise<void> {
  await (options.registerProcessors ?? registerBuiltinProcessors)(ctx);
  await loadPlugins(ctx);
}

/**
 * The composition root: store, queue, processors, workers and HTTP, wired together. It declares the
 * built-in job kinds, registers the processors `options.registerProcessors` registers (the built-in ones
 * when absent), then the configured plugins.
 */
export async function createApp(config: ServerConfig, options: CreateAppOptions = {}): Promise<App> {
  const log = options.log ?? consoleLogger;
  makeProjectRoot(config.projectRoot);
  const unlock = config.databaseUrl ? () => undefined : lockDataDir(config.dataDir);
  let store: JobStore;
  try {
    store = await openStore(config);
  } catch (e: unknown) {
    unlock();
    throw e;
  }
  try {
    await store.checkWritable(); // files left read-only, a standby database: say so rather than wait forever
  } catch (e: unknown) {
    await store.close();
    unlock();
    throw new ConfigError(`the store cannot be written: ${errorMessage(e)}`);
  }
  const registry = builtinRegistry();
  const events = new QueueEvents();
  const queue = new JobQueue(store, registry, events);
  let pool: WorkerPool | null = null;
  const metrics = new Metrics(queue, () => pool?.activeJobIds.length ?? 0);
  let sandboxStatus: Readonly<Record<string, string>> | null = null;
  const purges = purgeCleanups(events, log);
  let modelHosts: (() => Promise<readonly ModelHostStatus[]>) | null = null;
  try {
    await registerAll(options, {
      registry,
      config,
      log,
      hooks: {
        observeModelCall: (o) => metrics.observeModelCall(o),
        reportSandbox: (status) => {
          sandboxStatus = status;
        },
        onJobsPurged: purges.add,
        reportModelHosts: (look) => {
          modelHosts = look;
        },
      },
    });
  } catch (e: unknown) {
    await store.close();
    unlock();
    throw e;
  }
  if (config.workers > 0) {
    pool = new WorkerPool(store, registry, events, {
      maxWorkers: config.workers,
      log,
      resolveInputs: stepInputsResolver(queue),
      ...options.pool,
    });
  }
  const unbridge = await bridgeEvents(store, events, log);
  const retention = new Retention(store, events, { retentionDays: config.retentionDays, log });
  const unlog = logJobLifecycle(queue, events, log);
  const webhooks = webhookDispatcher(queue, events, config, log, options);
  const schedules = new Schedules(store, {
    fire: async (schedule, firedAt, idempotency) => {
      const job = await submitGenericJob(queue, schedule.job as GenericJobBody, {
        metadata: { schedule: { name: schedule.name, fired_at: firedAt } },
        idempotency,
      });
      return job.id;
    },
    log,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let ready = false;
  const api = await buildApi(queue, {
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    rateLimitPerMinute: config.rateLimitPerMinute,
    metrics,
    logLevel: config.logLevel === "info" ? "warn" : config.logLevel,
    ...(options.pino ? { logger: options.pino } : {}),
    ready: async () => ready,
    health: () => (sandboxStatus ? { sandbox: sandboxStatus } : {}),
    writable: () => store.checkWritable(),
    modelHosts: async () => (modelHosts ? modelHosts() : []),
    originPolicy: OriginPolicy.fromConfig(config),
    retention,
    schedules,
    maxConnections: connectionBudget(config.maxConnections, openFileLimit()),
  });
  let stopped = false;
  let unwatch = () => {};
  return {
    config,
    store,
    queue,
    registry,
    events,
    pool,
    schedules,
    api,
    async start() {
      const url = await api.listen({ host: config.host, port: config.port });
      await pool?.start();
      webhooks.start();
      unwatch = watchWritable(store, log);
      retention.start();
      schedules.start();
      ready = true;
      return url;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      unwatch();
      await retention.stop();
      await schedules.stop();
      await pool?.stop(config.graceMs);
      await webhooks.stop();
      await api.close();
      purges.off();
      unlog();
      await unbridge();
      await store.close();
      unlock();
    },
  };
}

export interface WorkerNode {
  config: ServerConfig;
  store: JobStore;
  registry: ProcessorRegistry;
  events: QueueEvents;
  pool: WorkerPool;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A node that only runs items (no HTTP), for more machines on a shared PostgreSQL store. */
export async function createWorkerNode(
  config: ServerConfig,
  options: CreateAppOptions = {},
): Promise<WorkerNode> {
  const log = options.log ?? consoleLogger;
  if (!config.databaseUrl) {
    throw new ConfigError(
      "worker needs --database-url (PostgreSQL); with SQLite, `serve` runs the workers itself",
    );
  }
  if (config.workers < 1) throw new ConfigError("worker needs --workers >= 1");
  makeProjectRoot(config.projectRoot);
  const store = await openStore(config);
  const registry = builtinRegistry();
  const events = new QueueEvents();
  const purges = purgeCleanups(events, log);
  try {
    await registerAll(options, { registry, config, log, hooks: { onJobsPurged: purges.add } });
  } catch (e: unknown) {
    await store.close();
    throw e;
  }
  const workerQueue = new JobQueue(store, registry, events);
  const pool = new WorkerPool(store, registry, events, {
    maxWorkers: config.workers,
    log,
    resolveInputs: stepInputsResolver(workerQueue),
    ...options.pool,
  });
  const unbridge = await bridgeEvents(store, events, log);
  const unlog = logJobLifecycle(workerQueue, events, log);
  const webhooks = webhookDispatcher(workerQueue, events, config, log, options);
  let stopped = false;
  return {
    config,
    store,
    registry,
    events,
    pool,
    async start() {
      await pool.start();
      webhooks.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await pool.stop(config.graceMs);
      purges.off();
      unlog();
      await webhooks.stop();
      await unbridge();
      await store.close();
    },
  };
}

/**
 * The processors' clean-ups of deleted jobs' files, run when this node or another on the same store deletes
 * jobs (`job:purged`). A clean-up that fails is logged; the job stays deleted.
 */
function purgeCleanups(events: QueueEvents, log: Logger) {
  const cleanups: ((jobIds: readonly string[]) => Promise<void>)[] = [];
  const off = events.on("job:purged", ({ jobIds }) => {
    for (const cleanup of cleanups)
      cleanup(jobIds).catch((e: unknown) =>
        log.warn(`removing the files of deleted job(s) ${jobIds.slice(0, 3).join(", ")}: ${errorMessage(e)}`),
      );
  });
  return {
    add: (cleanup: (jobIds: readonly string[]) => Promise<void>) => {
      cleanups.push(cleanup);
    },
    off,
  };
}
