import { isIP } from "node:net";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { SANDBOX_MODES, type SandboxMode } from "../sandbox/jail.js";
import { type CommandLimits, parseLimits } from "../sandbox/limits.js";
import type { SpawnerMode } from "../sandbox/sandbox.js";

/** What a user may set (CLI flags, their OLLAMA_CODER_* env twins, or the library API). */
export interface ServerConfigInput {
  host?: string;
  port?: number | string;
  dataDir?: string;
  databaseUrl?: string;
  projectRoot?: string;
  workers?: number | string;
  ollamaUrl?: string;
  maxBodyMb?: number | string;
  apiKeys?: string | string[];
  allowUnauthenticated?: boolean | string;
  /** Requests per minute per key or IP; 0 turns it off. Unset: off on loopback, 600 elsewhere. */
  rateLimit?: number | string;
  graceSeconds?: number | string;
  plugins?: string | string[];
  logLevel?: string;
  /** auto (bubblewrap, else the built-in jail, else refuse commands), bwrap, builtin, off. */
  sandbox?: string;
  /** What each jailed command may use: `memory=8g,processes=1024,file-size=4g,cpu=3600,open-files=4096`. */
  limits?: string;
  /** More paths jailed commands may read, besides the system and the toolchains on PATH. */
  jailRead?: string | string[];
  /** Where agent tasks' own workspaces live (default `<data-dir>/workspaces`); never inside the project. */
  workspacesDir?: string;
  /** auto (oc-spawner where built), helper (required), node (Node's spawn). */
  spawner?: string;
  /** Extra programs the guardrail refuses. */
  deny?: string | string[];
  /** When set, the only programs commands may run. */
  allow?: string | string[];
  /** Refuse every write and command. */
  readOnly?: boolean | string;
  /** KiB kept from the head and from the tail of each command output stream. */
  outputCapKb?: number | string;
  /** Extra environment variables commands see. */
  envPassthrough?: string | string[];
  /** Requests in flight per Ollama host, shared by all jobs. */
  ollamaMaxConcurrency?: number | string;
  /** More Host names served besides the bind address and localhost (`*`: any). */
  allowedHosts?: string | string[];
  /** An origin (scheme://host[:port]) allowed to call the API from a browser (CORS). */
  corsOrigin?: string;
  /** Connections served at once; more are closed as they arrive. */
  maxConnections?: number | string;
  /** Ended jobs older than this many days are deleted (0 keeps everything). */
  retentionDays?: number | string;
  /** Key of the HMAC-SHA256 signature on webhook deliveries (`X-Ollama-Coder-Signature`). */
  webhookSecret?: string;
}

/** Resolved, validated configuration. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databasePath: string;
  databaseUrl: string | null;
  projectRoot: string;
  workers: number;
  ollamaUrl: string;
  maxBodyBytes: number;
  apiKeys: string[];
  allowUnauthenticated: boolean;
  rateLimitPerMinute: number;
  graceMs: number;
  plugins: string[];
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  sandbox: SandboxMode;
  limits: CommandLimits;
  jailRead: string[];
  workspacesDir: string;
  spawner: SpawnerMode;
  deny: string[];
  allow: string[];
  readOnly: boolean;
  outputCapBytes: number;
  envPassthrough: string[];
  ollamaMaxConcurrency: number;
  allowedHosts: string[];
  corsOrigin: string | null;
  maxConnections: number;
  retentionDays: number;
  /** null: webhooks are sent unsigned. */
  webhookSecret: string | null;
}

export const SERVER_DEFAULTS = {
  host: "127.0.0.1",
  port: 8000,
  dataDir: "data",
  projectRoot: "project",
  workers: 5,
  ollamaUrl: "http://127.0.0.1:11434",
  maxBodyMb: 16,
  rateLimitOffLoopback: 600,
  graceSeconds: 10,
  logLevel: "info",
  sandbox: "auto",
  spawner: "auto",
  outputCapKb: 64,
  ollamaMaxConcurrency: 4,
  maxConnections: 1000,
  /** Ended jobs are kept a month (the guide's "clean up old completed jobs", built in). */
  retentionDays: 30,
} as const satisfies Record<string, string | number>;

/** Env twin of each option: `--data-dir` <-> `OLLAMA_CODER_DATA_DIR`. */
export const ENV_TWINS: Record<keyof ServerConfigInput, string> = {
  host: "OLLAMA_CODER_HOST",
  port: "OLLAMA_CODER_PORT",
  dataDir: "OLLAMA_CODER_DATA_DIR",
  databaseUrl: "OLLAMA_CODER_DATABASE_URL",
  projectRoot: "OLLAMA_CODER_PROJECT_ROOT",
  workers: "OLLAMA_CODER_WORKERS",
  ollamaUrl: "OLLAMA_CODER_OLLAMA_URL",
  maxBodyMb: "OLLAMA_CODER_MAX_BODY_MB",
  apiKeys: "OLLAMA_CODER_API_KEYS",
  allowUnauthenticated: "OLLAMA_CODER_ALLOW_UNAUTHENTICATED",
  rateLimit: "OLLAMA_CODER_RATE_LIMIT",
  graceSeconds: "OLLAMA_CODER_GRACE_SECONDS",
  plugins: "OLLAMA_CODER_PLUGINS",
  logLevel: "OLLAMA_CODER_LOG_LEVEL",
  sandbox: "OLLAMA_CODER_SANDBOX",
  limits: "OLLAMA_CODER_LIMITS",
  jailRead: "OLLAMA_CODER_JAIL_READ",
  workspacesDir: "OLLAMA_CODER_WORKSPACES_DIR",
  spawner: "OLLAMA_CODER_SPAWNER",
  deny: "OLLAMA_CODER_DENY",
  allow: "OLLAMA_CODER_ALLOW",
  readOnly: "OLLAMA_CODER_READ_ONLY",
  outputCapKb: "OLLAMA_CODER_OUTPUT_CAP_KB",
  envPassthrough: "OLLAMA_CODER_ENV_PASSTHROUGH",
  ollamaMaxConcurrency: "OLLAMA_CODER_OLLAMA_MAX_CONCURRENCY",
  allowedHosts: "OLLAMA_CODER_ALLOWED_HOSTS",
  corsOrigin: "OLLAMA_CODER_CORS_ORIGIN",
  maxConnections: "OLLAMA_CODER_MAX_CONNECTIONS",
  retentionDays: "OLLAMA_CODER_RETENTION_DAYS",
  webhookSecret: "OLLAMA_CODER_WEBHOOK_SECRET",
};

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Fills unset options from the environment. */
export function withEnv(input: ServerConfigInput, env: NodeJS.ProcessEnv = process.env): ServerConfigInput {
  const out: Record<string, unknown> = { ...input };
  for (const [key, name] of Object.entries(ENV_TWINS)) {
    const v = env[name];
    if (out[key] === undefined && v !== undefined && v !== "") out[key] = v;
  }
  if (out.ollamaUrl === undefined && env.OLLAMA_HOST) out.ollamaUrl = normalizeOllamaHost(env.OLLAMA_HOST);
  return out as ServerConfigInput;
}

/** OLLAMA_HOST may be "host", "host:port" or a URL, as the ollama CLI accepts. */
export function normalizeOllamaHost(value: string): string {
  return value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => {
      if (/^https?:\/\//.test(v)) return v.replace(/\/+$/, "");
      const hostPort = v.includes(":") ? v : `${v}:11434`;
      return `http://${hostPort.replace(/^0\.0\.0\.0/, "127.0.0.1")}`;
    })
    .join(",");
}

/** A numeric option within [min, max]; `whole` refuses fractions. */
function numberOption(
  name: string,
  value: number | string | undefined,
  fallback: number,
  min: number,
  max: number,
  whole: boolean,
): number {
  if (value === undefined) return fallback;
  const n = typeof value === "number" ? value : Number(value.trim());
  if (!(whole ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) {
    throw new ConfigError(
      `${name} must be a ${whole ? "whole number" : "number"} from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

const int = (name: string, value: number | string | undefined, fallback: number, min: number, max: number) =>
  numberOption(name, value, fallback, min, max, true);
const num = (name: string, value: number | string | undefined, fallback: number, min: number, max: number) =>
  numberOption(name, value, fallback, min, max, false);

function bool(name: string, value: boolean | string | undefined): boolean {
  if (value === undefined || typeof value === "boolean") return value ?? false;
  const v = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off", ""].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false (got ${JSON.stringify(value)})`);
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const parts = Array.isArray(value) ? value : value.split(",");
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** "a, b or c" */
function orList(words: readonly string[]): string {
  return `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

/** An origin as browsers send it (`scheme://host[:port]`, lower case, no default port), or a ConfigError. */
function originOption(value: string | undefined): string | null {
  const v = value?.trim();
  if (!v) return null;
  let url: URL | null = null;
  try {
    url = new URL(v);
  } catch {
    url = null;
  }
  const bare = url !== null && url.pathname === "/" && !url.search && !url.hash && !url.username;
  if (
    !url ||
    !bare ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    !/^https?:\/\/[^/]+\/?$/i.test(v)
  )
    throw new ConfigError(
      `cors-origin must be an origin like https://app.example:3000 (got ${JSON.stringify(v)})`,
    );
  return url.origin;
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}

/** Validates once, with messages that name the option. */
export function resolveServerConfig(input: ServerConfigInput): ServerConfig {
  const d = SERVER_DEFAULTS;
  const host = (input.host ?? d.host).trim();
  if (!host) throw new ConfigError("host must not be empty");
  const dataDir = resolve(input.dataDir ?? d.dataDir);
  const databaseUrl = input.databaseUrl?.trim() || null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`database-url must be a postgres:// URL (got ${JSON.stringify(databaseUrl)})`);
  }
  const ollamaUrl = (input.ollamaUrl ?? d.ollamaUrl).trim();
  for (const u of ollamaUrl.split(",")) {
    if (!isHttpUrl(u.trim())) {
      throw new ConfigError(
        `ollama-url must be an http(s) URL or a comma-separated list of them (got ${JSON.stringify(u)})`,
      );
    }
  }
  const apiKeys = list(input.apiKeys);
  const allowUnauthenticated = bool("allow-unauthenticated", input.allowUnauthenticated);
  const rateLimitDefault = isLoopback(host) ? 0 : d.rateLimitOffLoopback;
  const logLevel = (input.logLevel ?? d.logLevel) as ServerConfig["logLevel"];
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const sandbox = (input.sandbox ?? d.sandbox) as SandboxMode;
  if (!SANDBOX_MODES.includes(sandbox)) throw new ConfigError(`sandbox must be ${orList(SANDBOX_MODES)}`);
  const spawner = (input.spawner ?? d.spawner) as SpawnerMode;
  if (!["auto", "helper", "node"].includes(spawner))
    throw new ConfigError("spawner must be auto, helper or node");
  return {
    host,
    port: int("port", input.port, d.port, 0, 65535),
    dataDir,
    databasePath: resolve(dataDir, "batch_jobs.db"),
    databaseUrl,
    projectRoot: resolve(input.projectRoot ?? d.projectRoot),
    workers: int("workers", input.workers, d.workers, 0, 256),
    ollamaUrl: ollamaUrl.replace(/\/+$/, ""),
    maxBodyBytes: Math.round(num("max-body-mb", input.maxBodyMb, d.maxBodyMb, 0.001, 1024) * 1024 * 1024),
    apiKeys,
    allowUnauthenticated,
    rateLimitPerMinute: int("rate-limit", input.rateLimit, rateLimitDefault, 0, 10_000_000),
    graceMs: Math.round(num("grace-seconds", input.graceSeconds, d.graceSeconds, 0, 3600) * 1000),
    retentionDays: num("retention-days", input.retentionDays, d.retentionDays, 0, 36_500),
    plugins: list(input.plugins),
    logLevel,
    sandbox,
    limits: parseLimits(input.limits),
    jailRead: list(input.jailRead).map((p) => resolve(p)),
    workspacesDir: resolve(input.workspacesDir ?? resolve(dataDir, "workspaces")),
    spawner,
    deny: list(input.deny),
    allow: list(input.allow),
    readOnly: bool("read-only", input.readOnly),
    outputCapBytes: int("output-cap-kb", input.outputCapKb, d.outputCapKb, 1, 1024 * 1024) * 1024,
    envPassthrough: list(input.envPassthrough),
    ollamaMaxConcurrency: int(
      "ollama-max-concurrency",
      input.ollamaMaxConcurrency,
      d.ollamaMaxConcurrency,
      1,
      1024,
    ),
    allowedHosts: list(input.allowedHosts).map((h) => h.toLowerCase()),
    corsOrigin: originOption(input.corsOrigin),
    maxConnections: int("max-connections", input.maxConnections, d.maxConnections, 1, 1_000_000),
    webhookSecret: input.webhookSecret?.trim() || null,
  };
}

/** Refuses an open bind without keys unless explicitly allowed. */
export function assertSafeBind(config: ServerConfig): void {
  if (isLoopback(config.host) || config.apiKeys.length > 0 || config.allowUnauthenticated) return;
  throw new ConfigError(
    `refusing to listen on ${config.host} without authentication: anyone who can reach it could run commands ` +
      "in your project. Set OLLAMA_CODER_API_KEYS=key1,key2 (clients send 'Authorization: Bearer <key>'), " +
      "bind to 127.0.0.1, or pass --allow-unauthenticated if a proxy in front already authenticates.",
  );
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}
