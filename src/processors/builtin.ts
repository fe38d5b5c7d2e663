import { join } from "node:path";
import { OllamaClient, parseOllamaUrls } from "../agent/ollama-client.js";
import type { ServerConfig } from "../config/server-config.js";
import type { ProcessorHooks, RegisterContext } from "../queue/register-context.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../sandbox/sandbox.js";
import { pruneWorkspaces } from "../workspace/prune.js";
import { AGENT_KIND } from "./agent-kind.js";
import { agentProcessor } from "./agent-processor.js";
import { MCP_KIND } from "./mcp-kind.js";
import { mcpProcessor } from "./mcp-processor.js";
import { forgetJobFiles } from "./task-isolation.js";
import { TESTS_KIND } from "./tests-kind.js";
import { testsProcessor } from "./tests-processor.js";
import { VALIDATION_KIND } from "./validation-kind.js";
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

/** Registers the processors that ship with ollama-coder (the kinds they run are BUILTIN_KINDS). */
export async function registerBuiltinProcessors({
  registry,
  config,
  log,
  hooks,
}: RegisterContext): Promise<Sandbox> {
  const sandbox = sandboxFromConfig(config);
  const line = `sandbox: root ${sandbox.root}; ${sandbox.jailNote}; ${sandbox.spawnerNote}${config.readOnly ? "; read-only" : ""}`;
  if (sandbox.jailed) log.info(line);
  else log.warn(line);
  hooks.reportSandbox?.(sandbox.status());
  const ollama = ollamaFromConfig(config, hooks);
  log.info(`ollama: ${ollama.urls.join(", ")} (at most ${config.ollamaMaxConcurrency} request(s) per host)`);
  hooks.reportModelHosts?.(() => ollama.hostStatus());
  // No task runs yet in this process: worktrees and copies still there were left by one that died.
  const left = await pruneWorkspaces(config.workspacesDir, config.projectRoot);
  if (left > 0)
    log.info(`removed ${left} task workspace(s) left by a process that stopped (their branches stay)`);
  const places = { workspacesDir: config.workspacesDir, patchesDir: join(config.dataDir, "patches") };
  registry.register(AGENT_KIND.type, agentProcessor(sandbox, ollama, places));
  hooks.onJobsPurged?.(async (jobIds) => {
    for (const id of jobIds) await forgetJobFiles(places, id);
  });
  registry.register(VALIDATION_KIND.type, validationProcessor(sandbox));
  registry.register(TESTS_KIND.type, testsProcessor(sandbox));
  registry.register(MCP_KIND.type, mcpProcessor(sandbox));
  return sandbox;
}
