/** Structured facts a log line carries besides its message (pino merges them into the JSON line). */
export type LogFields = Record<string, unknown>;

/** The small logging surface the core needs; the server's pino logger fits it (see pino-logger.ts). */
export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** `msg key=value …`, for plain lines. */
const plain = (msg: string, fields?: LogFields): string =>
  fields
    ? `${msg} ${Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ")}`
    : msg;

/** Plain lines on stderr: what a process logs before (or without) a logger of its own. */
const stderrLogger: Logger = {
  info: (m, f) => console.error(plain(m, f)),
  warn: (m, f) => console.error(`warning: ${plain(m, f)}`),
  error: (m, f) => console.error(`error: ${plain(m, f)}`),
  debug: () => {},
};

let processLogger: Logger = stderrLogger;

/**
 * Makes `log` the process's logger: `consoleLogger` (and so every part that logs without being handed a
 * logger) writes through it from now on. `serve` and `worker` set their pino logger, so that one process never
 * mixes JSON lines with plain ones.
 */
export function setProcessLogger(log: Logger): void {
  processLogger = log;
}

/** The process's logger (plain lines on stderr until `setProcessLogger`). */
export const consoleLogger: Logger = {
  info: (m, f) => processLogger.info(m, f),
  warn: (m, f) => processLogger.warn(m, f),
  error: (m, f) => processLogger.error(m, f),
  debug: (m, f) => processLogger.debug(m, f),
};

/** A fatal error as the process's last line: plain on stderr, or through the logger `serve` set. */
export function logFatal(msg: string): void {
  if (processLogger === stderrLogger) console.error(msg);
  else processLogger.error(msg);
}
