import type { Command } from "commander";
import { createWorkerNode } from "../app.js";
import { checkProjectRoot } from "../config/project-root.js";
import { resolveServerConfig, type ServerConfigInput, withEnv } from "../config/server-config.js";
import { setProcessLogger } from "../util/logger.js";
import { createPino, fromPino } from "../util/pino-logger.js";
import { withSandboxOptions } from "./sandbox-options.js";
import { onShutdownSignals } from "./shutdown.js";

/** `worker`: claims and runs items from a shared PostgreSQL store; no HTTP. */
export function addWorkerCommand(program: Command): void {
  withSandboxOptions(program.command("worker"))
    .description("run items from a shared PostgreSQL database (no HTTP); start as many as you like")
    .option("--database-url <url>", "postgres:// URL (env OLLAMA_CODER_DATABASE_URL)")
    .option("--project-root <dir>", "sandbox root (env OLLAMA_CODER_PROJECT_ROOT)")
    .option("--data-dir <dir>", "kept hidden from commands (env OLLAMA_CODER_DATA_DIR)")
    .option("--workers <n>", "jobs run at once by this node (env OLLAMA_CODER_WORKERS)")
    .option(
      "--ollama-url <url>",
      "Ollama base URL(s), comma-separated (env OLLAMA_CODER_OLLAMA_URL, OLLAMA_HOST)",
    )
    .option("--ollama-max-concurrency <n>", "requests in flight per Ollama host from this node")
    .option("--grace-seconds <s>", "on SIGTERM, how long running items may finish")
    .option("--plugin <module...>", "load processors from a module exporting register(registry)")
    .option("--spawner <mode>", "auto|helper|node")
    .option("--deny <programs...>", "more programs the guardrail refuses")
    .option("--allow <programs...>", "the only programs commands may run")
    .option("--read-only", "refuse every write and command")
    .option(
      "--webhook-secret <secret>",
      "key of the HMAC-SHA256 signature on webhook deliveries (env OLLAMA_CODER_WEBHOOK_SECRET)",
    )
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent")
    .action(async (flags: ServerConfigInput & { plugin?: string[] }) => {
      const { plugin, ...rest } = flags;
      const input = withEnv({ ...rest, plugins: plugin });
      checkProjectRoot(input);
      const config = resolveServerConfig(input);
      const pino = await createPino(config.logLevel);
      const log = fromPino(pino);
      setProcessLogger(log); // every line of this process through pino: JSON, or pretty on a terminal
      const node = await createWorkerNode(config, { log, pino }); // the built-in processors, then the plugins
      onShutdownSignals(log, config.graceMs, () => node.stop());
      await node.start();
      log.info(
        `ollama-coder worker ready: ${node.pool.workerId}, ${config.workers} job(s) at once, project root ${config.projectRoot}`,
      );
    });
}
