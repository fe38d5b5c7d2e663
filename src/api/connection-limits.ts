import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

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
  /** Of --max-connections, the share one client address may hold. */
  perClientShare: 0.25,
  /** Request bodies being received at once may add up to this many times the body limit (they are buffered). */
  bodyBudgetFactor: 16,
} as const;

/**
 * Node's header deadline only starts with a request's first byte: a connection that never sends one is given
 * the same time through its socket timeout, which becomes the idle timeout once a request arrives.
 */
export function limitConnections(server: Server, maxConnections: number | undefined): void {
  const t = CONNECTION_TIMEOUTS;
  if (maxConnections !== undefined) server.maxConnections = maxConnections;
  // One client address holds at most a share of the slots (slow senders from one place leave room for others).
  const perClient =
    maxConnections === undefined ? Infinity : Math.max(16, Math.floor(maxConnections * t.perClientShare));
  const byClient = new Map<string, number>();
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const held = byClient.get(address) ?? 0;
    if (held >= perClient) {
      socket.destroy();
      return;
    }
    byClient.set(address, held + 1);
    socket.once("close", () => {
      const n = (byClient.get(address) ?? 1) - 1;
      if (n > 0) byClient.set(address, n);
      else byClient.delete(address);
    });
    socket.setTimeout(t.headersMs);
  });
  server.on("request", (request: IncomingMessage) => request.socket.setTimeout(t.idleMs));
}

/**
 * Request bodies are buffered whole before they are parsed: many slow ones just under the body limit would
 * add up to gigabytes. Each request reserves its declared length (the body limit when it declares none) from
 * a budget of `bodyBudgetFactor` times the limit, before a byte of its body is read, and gives it back when
 * its answer is sent; past the budget a request gets 503 with Retry-After at once.
 */
export function installBodyBudget(app: FastifyInstance, maxBodyBytes: number): void {
  const budget = maxBodyBytes * CONNECTION_TIMEOUTS.bodyBudgetFactor;
  let reserved = 0;
  app.addHook("onRequest", async (request, reply) => {
    const length = request.headers["content-length"];
    const declared = Number(length);
    const size =
      length !== undefined && Number.isFinite(declared)
        ? Math.min(Math.max(declared, 0), maxBodyBytes)
        : request.headers["transfer-encoding"] !== undefined
          ? maxBodyBytes
          : 0;
    if (size === 0) return;
    if (reserved + size > budget)
      return reply
        .status(503)
        .header("retry-after", "1")
        .header("connection", "close")
        .send({ detail: "Too many request bodies are being received at once; retry in a moment" });
    reserved += size;
    reply.raw.once("close", () => {
      reserved -= size;
    });
  });
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
