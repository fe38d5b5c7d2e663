import type { ServerConfig } from "../config/server-config.js";
import type { ProcessorRegistry } from "../queue/processor.js";

/** Registers the processors that ship with ollama-coder. */
export function registerBuiltinProcessors(_registry: ProcessorRegistry, _config: ServerConfig): void {}
