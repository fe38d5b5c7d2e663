/** The public library API of ollama-coder (named exports only). */

export { type AgentEvent, runAgentTask, type TaskResult } from "./agent/agent-loop.js";
export { OllamaClient, type OllamaClientOptions, parseOllamaUrls } from "./agent/ollama-client.js";
export { OllamaError } from "./agent/ollama-errors.js";
export { type RunConfig, type RunConfigInput, resolveRunConfig } from "./agent/run-config.js";
export { parseToolCalls } from "./agent/tool-call-parser.js";
export {
  type App,
  type CreateAppOptions,
  createApp,
  createWorkerNode,
  loadPlugins,
  type PluginRegister,
  type WorkerNode,
} from "./app.js";
export {
  assertSafeBind,
  resolveServerConfig,
  type ServerConfig,
  type ServerConfigInput,
  withEnv,
} from "./config/server-config.js";
export { FAILURE_REASONS, type FailureReason } from "./domain/failure.js";
export type { ItemResult } from "./domain/item-result.js";
export type { JsonObject } from "./domain/json.js";
export type { ItemRecord, JobRecord } from "./domain/records.js";
export type { JobStatus, SuccessWord } from "./domain/statuses.js";
export {
  AlreadyExistsError,
  CoderError,
  ConfigError,
  ConflictError,
  errorMessage,
  InvalidInputError,
  NotFoundError,
  SecurityBlockError,
} from "./errors.js";
export { ollamaFromConfig, registerBuiltinProcessors, sandboxFromConfig } from "./processors/builtin.js";
export { BUILTIN_KINDS } from "./processors/builtin-kinds.js";
export { type Clock, systemClock } from "./queue/clock.js";
export { type QueueEventMap, type QueueEventName, QueueEvents } from "./queue/events.js";
export type { JobKind, SubmitRoute } from "./queue/job-kind.js";
export { JobQueue, type ResultEntry, type SubmitInput } from "./queue/job-queue.js";
export type { ItemContext, JobContext, Processor } from "./queue/processor.js";
export { ProcessorRegistry } from "./queue/processor.js";
export { type ProgressSnapshot, progressSnapshot } from "./queue/progress.js";
export type { ProcessorHooks, Register, RegisterContext } from "./queue/register-context.js";
export type { NewSchedule, Schedules } from "./queue/schedules.js";
export { WorkerPool, type WorkerPoolOptions } from "./queue/worker-pool.js";
export { Guardrail, type GuardrailOptions } from "./sandbox/guardrail.js";
export { PathSandbox } from "./sandbox/path-sandbox.js";
export type { RunResult } from "./sandbox/run-command.js";
export { SANDBOX_DEFAULTS, Sandbox, type SandboxOptions } from "./sandbox/sandbox.js";
export type { JobStore, ScheduleRecord } from "./store/job-store.js";
export { openStore } from "./store/open-store.js";
export { SqliteJobStore } from "./store/sqlite/sqlite-store.js";
