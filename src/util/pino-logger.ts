import { type DestinationStream, type Logger as Pino, pino } from "pino";
import type { LogFields, Logger } from "./logger.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/**
 * The server's one logger: JSON lines on stdout, or, when stdout is a terminal, pino-pretty's single
 * coloured lines instead (never both). pino-pretty is loaded only then, so piped JSON logging pays nothing.
 */
export async function createPino(
  level: LogLevel,
  pretty: boolean = process.stdout.isTTY === true,
): Promise<Pino> {
  const options = { level, base: { pid: process.pid } };
  if (!pretty) return pino(options);
  const { default: pinoPretty } = await import("pino-pretty");
  const stream: DestinationStream = pinoPretty({
    sync: true,
    colorize: true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
  });
  return pino(options, stream);
}

/** The core's Logger over pino: fields first, as pino takes them. */
export function fromPino(p: Pino): Logger {
  const at =
    (level: "info" | "warn" | "error" | "debug") =>
    (msg: string, fields?: LogFields): void => {
      if (fields) p[level](fields, msg);
      else p[level](msg);
    };
  return { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}
