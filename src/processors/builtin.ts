import { OllamaClient, parseOllamaUrls } from "../agent/ollama-client.js";
import type { ProcessorHooks } from "../app.js";
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
    limits: config.limits,
    jailRead: config.jailRead,
    spawner: config.spawner,
    guardrail: { deny: config.deny, allow: config.allow, readOnly: config.readOnly },
    outputCap: config.outputCapBytes,
    envPassthrough: config.envPassthrough,
  });
}

/** The Ollama client every job of the process shares (and with it the per-host limits). */
export function ollamaFromConfig(config: ServerConfig, hooks: ProcessorHooks = {}): OllamaClient {
  return new OllamaClient({
    urls: parseOllamaUrls(config.ollamaUrl),
    maxConcurrencyPerHost: config.ollamaMaxConcurrency,
    ...(hooks.observeModelCall ? { observe: hooks.observeModelCall } : {}),
  });
}

/** Registers the processors that ship with ollama-coder. */
export function registerBuiltinProcessors(
  registry: ProcessorRegistry,
  config: ServerConfig,
  log?: Logger,
  hooks: ProcessorHooks = {},
): Sandbox {
  const sandbox = sandboxFromConfig(config);
  const line = `sandbox: root ${sandbox.root}; ${sandbox.jailNote}; ${sandbox.spawnerNote}${config.readOnly ? "; read-only" : ""}`;
  if (sandbox.jailed) log?.info(line);
  else log?.warn(line);
  hooks.reportSandbox?.(sandbox.status());
  const ollama = ollamaFromConfig(config, hooks);
  log?.info(`ollama: ${ollama.urls.join(", ")} (at most ${config.ollamaMaxConcurrency} request(s) per host)`);
  registry.register("batch_agent_tasks", agentProcessor(sandbox, ollama));
  registry.register("batch_validation", validationProcessor(sandbox));
  registry.register("batch_tests", testsProcessor(sandbox));
  registry.register("batch_mcp", mcpProcessor(sandbox));
  return sandbox;
}
