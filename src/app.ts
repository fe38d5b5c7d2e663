import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import { Metrics, type ModelCallObservation } from "./api/metrics.js";
import { OriginPolicy } from "./api/origin-policy.js";
import { buildApi } from "./api/server.js";
import type { ServerConfig } from "./config/server-config.js";
import { ConfigError, errorMessage } from "./errors.js";
import { bridgeEvents } from "./queue/event-bridge.js";
import { QueueEvents } from "./queue/events.js";
import { JobQueue } from "./queue/job-queue.js";
import { ProcessorRegistry } from "./queue/processor.js";
import { WorkerPool } from "./queue/worker-pool.js";
import type { JobStore } from "./store/job-store.js";
import { openStore } from "./store/open-store.js";
import { lockDataDir } from "./store/sqlite/data-dir-lock.js";
import { watchWritable } from "./store/writable-watch.js";
import { consoleLogger, type Logger } from "./util/logger.js";
import { connectionBudget, openFileLimit } from "./util/open-file-limit.js";

/** What a plugin module exports: `register(registry, config)` (named or default). */
export type PluginRegister = (registry: ProcessorRegistry, config: ServerConfig) => void | Promise<void>;

export interface App {
  config: ServerConfig;
  store: JobStore;
  queue: JobQueue;
  registry: ProcessorRegistry;
  events: QueueEvents;
  pool: WorkerPool | null;
  api: FastifyInstance;
  /** Listens, then starts the workers (recovering what a dead process left). Returns the bound URL. */
  start(): Promise<string>;
  /** Graceful stop: workers first (grace period; the API keeps answering meanwhile), then HTTP, then the store. */
  stop(): Promise<void>;
}

export async function loadPlugins(registry: ProcessorRegistry, config: ServerConfig): Promise<void> {
  for (const spec of config.plugins) {
    // A path (relative or absolute, or any file that exists) is loaded as a file; anything else as a package.
    const isPath = spec.startsWith(".") || spec.startsWith("/") || existsSync(spec);
    const url = isPath ? pathToFileURL(resolve(spec)).href : spec;
    let mod: { register?: PluginRegister; default?: PluginRegister };
    try {
      mod = (await import(url)) as typeof mod;
    } catch (e: unknown) {
      throw new ConfigError(`cannot load plugin ${spec}: ${errorMessage(e)}`);
    }
    const register = mod.register ?? mod.default;
    if (typeof register !== "function")
      throw new ConfigError(`plugin ${spec} exports no register(registry) function`);
    await register(registry, config);
  }
}

/** What the composition root hands to processor registration (for their telemetry). */
export interface ProcessorHooks {
  observeModelCall?: (o: ModelCallObservation) => void;
  /** How commands are confined, shown by /health (a server without a jail says so there). */
  reportSandbox?: (status: Readonly<Record<string, string>>) => void;
}

export interface CreateAppOptions {
  log?: Logger;
  /** Registers processors before plugins load (the built-in ones by default). */
  registerProcessors?: (
    registry: ProcessorRegistry,
    config: ServerConfig,
    hooks: ProcessorHooks,
  ) => void | Promise<void>;
  pool?: Partial<ConstructorParameters<typeof WorkerPool>[3]>;
}

/** The composition root: store, queue, processors, workers and HTTP, wired together. */
export async function createApp(config: ServerConfig, options: CreateAppOptions = {}): Promise<App> {
  const log = options.log ?? consoleLogger;
  mkdirSync(config.projectRoot, { recursive: true });
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
  const registry = new ProcessorRegistry();
  const events = new QueueEvents();
  let pool: WorkerPool | null = null;
  const metrics = new Metrics(store, events, () => pool?.activeJobIds.length ?? 0);
  let sandboxStatus: Readonly<Record<string, string>> | null = null;
  try {
    await options.registerProcessors?.(registry, config, {
      observeModelCall: (o) => metrics.observeModelCall(o),
      reportSandbox: (status) => {
        sandboxStatus = status;
      },
    });
    await loadPlugins(registry, config);
  } catch (e: unknown) {
    await store.close();
    unlock();
    throw e;
  }
  const queue = new JobQueue(store, registry, events);
  if (config.workers > 0) {
    pool = new WorkerPool(store, registry, events, { maxWorkers: config.workers, log, ...options.pool });
  }
  const unbridge = await bridgeEvents(store, events, log);
  let ready = false;
  const api = await buildApi(queue, {
    maxBodyBytes: config.maxBodyBytes,
    apiKeys: config.apiKeys,
    rateLimitPerMinute: config.rateLimitPerMinute,
    metrics,
    logLevel: config.logLevel === "info" ? "warn" : config.logLevel,
    ready: async () => ready,
    health: () => (sandboxStatus ? { sandbox: sandboxStatus } : {}),
    writable: () => store.checkWritable(),
    originPolicy: OriginPolicy.fromConfig(config),
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
    api,
    async start() {
      const url = await api.listen({ host: config.host, port: config.port });
      await pool?.start();
      unwatch = watchWritable(store, log);
      ready = true;
      return url;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      unwatch();
      await pool?.stop(config.graceMs);
      await api.close();
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
  mkdirSync(config.projectRoot, { recursive: true });
  const store = await openStore(config);
  const registry = new ProcessorRegistry();
  const events = new QueueEvents();
  try {
    await options.registerProcessors?.(registry, config, {});
    await loadPlugins(registry, config);
  } catch (e: unknown) {
    await store.close();
    throw e;
  }
  const pool = new WorkerPool(store, registry, events, { maxWorkers: config.workers, log, ...options.pool });
  const unbridge = await bridgeEvents(store, events, log);
  let stopped = false;
  return {
    config,
    store,
    registry,
    events,
    pool,
    start: () => pool.start(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await pool.stop(config.graceMs);
      await unbridge();
      await store.close();
    },
  };
}
