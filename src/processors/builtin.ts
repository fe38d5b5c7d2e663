import { OllamaClient, parseOllamaUrls } from "../agent/ollama-client.js";
import type { ServerConfig } from "../config/server-config.js";
import type { ProcessorRegistry } from "../queue/processor.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../sandbox/sandbox.js";
import type { Logger } from "../util/logger.js";
import { agentProcessor } from "./agent-processor.js";
import { mcpProcessor } from "./mcp-processor.js";
import { testsProcessor } from "./tests-processor.js";
import { validationProcessor } from "./validation-processor.js";

/** The sandbox a server's processors share, from its configuration. */
export function sandboxFromConfig(config: ServerConfig): Sandbox {
  return new Sandbox({
    ...SANDBOX_DEFAULTS,
    root: config.projectRoot,
    hidden: [config.dataDir],
    mode: config.sandbox,
    guardrail: { deny: config.deny, allow: config.allow, readOnly: config.readOnly },
    outputCap: config.outputCapBytes,
    envPassthrough: config.envPassthrough,
  });
}

/** Registers the processors that ship with ollama-coder. */
export function registerBuiltinProcessors(
  registry: ProcessorRegistry,
  config: ServerConfig,
  log?: Logger,
): Sandbox {
  const sandbox = sandboxFromConfig(config);
  log?.info(`sandbox: root ${sandbox.root}; ${sandbox.jailNote}${config.readOnly ? "; read-only" : ""}`);
  registry.register("batch_validation", validationProcessor(sandbox));
  registry.register("batch_tests", testsProcessor(sandbox));
  registry.register("batch_mcp", mcpProcessor(sandbox));
  return sandbox;
}
