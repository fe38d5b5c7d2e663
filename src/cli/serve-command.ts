import type { Command } from "commander";
import { createApp } from "../app.js";
import { checkProjectRoot } from "../config/project-root.js";
import {
  assertSafeBind,
  resolveServerConfig,
  SERVER_DEFAULTS,
  type ServerConfigInput,
  withEnv,
} from "../config/server-config.js";
import { setProcessLogger } from "../util/logger.js";
import { raiseOpenFileLimit } from "../util/open-file-limit.js";
import { createPino, fromPino } from "../util/pino-logger.js";
import { withSandboxOptions } from "./sandbox-options.js";
import { onShutdownSignals } from "./shutdown.js";

export interface ServeFlags extends ServerConfigInput {}

/** `serve`: the API and (unless --workers 0) the workers, in one process. */
export function addServeCommand(program: Command): void {
  withSandboxOptions(program.command("serve"))
    .description("serve the REST API (and run items, unless --workers 0)")
    .option("--host <host>", "address to bind (env OLLAMA_CODER_HOST)", undefined)
    .option("--port <port>", "port (env OLLAMA_CODER_PORT)")
    .option("--data-dir <dir>", "where batch_jobs.db lives (env OLLAMA_CODER_DATA_DIR)")
    .option("--database-url <url>", "postgres:// URL instead of SQLite (env OLLAMA_CODER_DATABASE_URL)")
    .option("--project-root <dir>", "sandbox root for files and commands (env OLLAMA_CODER_PROJECT_ROOT)")
    .option("--workers <n>", "jobs run at once; 0 serves the API only (env OLLAMA_CODER_WORKERS)")
    .option(
      "--ollama-url <url>",
      "Ollama base URL(s), comma-separated (env OLLAMA_CODER_OLLAMA_URL, OLLAMA_HOST)",
    )
    .option(
      "--ollama-max-concurrency <n>",
      "requests in flight per Ollama host, all jobs together (default 4)",
    )
    .option("--max-body-mb <mb>", "request body limit in MiB (env OLLAMA_CODER_MAX_BODY_MB)")
    .option(
      "--rate-limit <perMinute>",
      "requests per minute per key or IP, 0 = off (env OLLAMA_CODER_RATE_LIMIT)",
    )
    .option(
      "--grace-seconds <s>",
      "on SIGTERM, how long running items may finish (env OLLAMA_CODER_GRACE_SECONDS)",
    )
    .option(
      "--retention-days <days>",
      `ended jobs older than this are deleted, 0 keeps all (default ${SERVER_DEFAULTS.retentionDays}; env OLLAMA_CODER_RETENTION_DAYS)`,
    )
    .option(
      "--plugin <module...>",
      "load processors from a module exporting register(registry) (env OLLAMA_CODER_PLUGINS)",
    )
    .option("--allow-unauthenticated", "allow a non-loopback bind without OLLAMA_CODER_API_KEYS")
    .option(
      "--allowed-hosts <names>",
      "Host names served besides the bind address and localhost, comma-separated; * = any (env OLLAMA_CODER_ALLOWED_HOSTS)",
    )
    .option(
      "--cors-origin <origin>",
      "one origin (https://app.example) allowed to call the API from a browser (env OLLAMA_CODER_CORS_ORIGIN)",
    )
    .option(
      "--max-connections <n>",
      "connections served at once; more are closed on arrival (env OLLAMA_CODER_MAX_CONNECTIONS)",
    )
    .option(
      "--spawner <mode>",
      "auto|helper|node: start commands through oc-spawner or Node's spawn (env OLLAMA_CODER_SPAWNER)",
    )
    .option("--deny <programs...>", "more programs the guardrail refuses (env OLLAMA_CODER_DENY)")
    .option("--allow <programs...>", "the only programs commands may run (env OLLAMA_CODER_ALLOW)")
    .option("--read-only", "refuse every write and command (env OLLAMA_CODER_READ_ONLY)")
    .option(
      "--output-cap-kb <kb>",
      "KiB kept from the head and the tail of command output (env OLLAMA_CODER_OUTPUT_CAP_KB)",
    )
    .option(
      "--env-passthrough <names...>",
      "environment variables commands may see (env OLLAMA_CODER_ENV_PASSTHROUGH)",
    )
    .option(
      "--webhook-secret <secret>",
      "key of the HMAC-SHA256 signature on webhook deliveries (env OLLAMA_CODER_WEBHOOK_SECRET)",
    )
    .option("--log-level <level>", "fatal|error|warn|info|debug|trace|silent (env OLLAMA_CODER_LOG_LEVEL)")
    .action(async (flags: ServeFlags & { plugin?: string[] }) => {
      const { plugin, ...rest } = flags;
      const input = withEnv({ ...rest, plugins: plugin });
      checkProjectRoot(input);
      const config = resolveServerConfig(input);
      assertSafeBind(config);
      raiseOpenFileLimit();
      const pino = await createPino(config.logLevel);
      const log = fromPino(pino);
      setProcessLogger(log); // every line of this process through pino: JSON, or pretty on a terminal
      const app = await createApp(config, { log, pino }); // the built-in processors, then the plugins
      onShutdownSignals(log, config.graceMs, () => app.stop());
      const url = await app.start();
      const store = config.databaseUrl ? "PostgreSQL" : `SQLite ${config.databasePath}`;
      log.info(
        `ollama-coder listening on ${url} (${store}; ${config.workers} worker(s); project root ${config.projectRoot}; ` +
          `auth ${config.apiKeys.length > 0 ? "on" : "off"}; at most ${app.api.server.maxConnections} connections; ` +
          `docs at ${url}/docs)`,
      );
    });
}
