import type { Logger } from "../util/logger.js";

/** SIGTERM/SIGINT: stop gracefully once, then exit 0 (1 if stopping failed). Until then the process lives. */
export function onShutdownSignals(log: Logger, graceMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping (running items get ${graceMs / 1000} s to finish)`);
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error(String(e));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A node lives until it is told to stop: not until its last connection happens to drop (a worker whose
  // database restarted would otherwise exit 0 while it reconnects, and a supervisor would not restart it).
  setInterval(() => undefined, 2 ** 30);
}
