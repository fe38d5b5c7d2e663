import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";

/**
 * How long a connection may take at each step, so idle and slow sockets cannot pile up (together with
 * --max-connections, which closes connections past the cap as they arrive).
 */
export const CONNECTION_TIMEOUTS = {
  /** A connection must send a request's headers within this (idle new connections included). */
  headersMs: 10_000,
  /** The whole request, body included, must arrive within this. */
  requestMs: 120_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: 5_000,
  /** A socket with no traffic either way is closed after this (event streams send a keep-alive every 15 s). */
  idleMs: 60_000,
  /** How often the header and request deadlines are checked. */
  checkIntervalMs: 1_000,
} as const;

/**
 * Node's header deadline only starts with a request's first byte: a connection that never sends one is given
 * the same time through its socket timeout, which becomes the idle timeout once a request arrives.
 */
export function limitConnections(server: Server, maxConnections: number | undefined): void {
  const t = CONNECTION_TIMEOUTS;
  if (maxConnections !== undefined) server.maxConnections = maxConnections;
  server.on("connection", (socket: Socket) => socket.setTimeout(t.headersMs));
  server.on("request", (request: IncomingMessage) => request.socket.setTimeout(t.idleMs));
}

/** The part of Fastify's options that sets the deadlines above. */
export function connectionServerOptions() {
  const t = CONNECTION_TIMEOUTS;
  return {
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    requestTimeout: t.requestMs,
    http: { headersTimeout: t.headersMs, connectionsCheckingInterval: t.checkIntervalMs },
  };
}
