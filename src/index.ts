/** The public library API of ollama-coder (named exports only). */
export { type App, type CreateAppOptions, createApp, loadPlugins, type PluginRegister } from "./app.js";
export {
  assertSafeBind,
  resolveServerConfig,
  type ServerConfig,
  type ServerConfigInput,
  withEnv,
} from "./config/server-config.js";
export {
  CoderError,
  ConfigError,
  ConflictError,
  errorMessage,
  InvalidInputError,
  NotFoundError,
} from "./errors.js";
export { type Clock, systemClock } from "./queue/clock.js";
export { type QueueEventMap, type QueueEventName, QueueEvents } from "./queue/events.js";
export { JobQueue, type ResultEntry, type SubmitInput } from "./queue/job-queue.js";
export type { ItemContext, ItemResult, JobContext, Processor } from "./queue/processor.js";
export { ProcessorRegistry } from "./queue/processor.js";
export { type ProgressSnapshot, progressSnapshot } from "./queue/progress.js";
export { WorkerPool, type WorkerPoolOptions } from "./queue/worker-pool.js";
export type { ItemRecord, JobRecord, JobStatus, JobStore } from "./store/job-store.js";
export { openStore } from "./store/open-store.js";
export { SqliteJobStore } from "./store/sqlite/sqlite-store.js";
