import type { ServerConfig } from "../config/server-config.js";
import type { Logger } from "../util/logger.js";
import type { ModelCallObservation } from "../util/telemetry.js";
import type { ProcessorRegistry } from "./processor.js";

/** Telemetry the composition root hands to processors. */
export interface ProcessorHooks {
  observeModelCall?: (o: ModelCallObservation) => void;
  /** How commands are confined, shown by /health (a server without a jail says so there). */
  reportSandbox?: (status: Readonly<Record<string, string>>) => void;
  /**
   * Registers what to remove of a processor's own when ended jobs are deleted (retention, clean-up, purge):
   * their workspaces, patches. Called on every node that shares the store.
   */
  onJobsPurged?: (cleanup: (jobIds: readonly string[]) => Promise<void>) => void;
  /** How to look at the model hosts (Ollama) now, shown by /ready. */
  reportModelHosts?: (look: () => Promise<readonly ModelHostStatus[]>) => void;
}

/** A model host as it answered just now (reachable, its models, how long it took). */
export interface ModelHostStatus {
  url: string;
  reachable: boolean;
  models: string[];
  latency_ms: number;
  error?: string;
}

/**
 * What every registration receives, the built-in processors and plugins alike: `register(ctx)`.
 * (Plugins written as `register(registry, config)` keep working: see loadPlugins.)
 */
export interface RegisterContext {
  registry: ProcessorRegistry;
  config: ServerConfig;
  log: Logger;
  hooks: ProcessorHooks;
}

/** A registration in the current form. */
export type Register = (ctx: RegisterContext) => void | Promise<void>;
