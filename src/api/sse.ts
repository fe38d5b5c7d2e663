import type { FastifyReply } from "fastify";

const KEEPALIVE_MS = 15_000;

/** An open Server-Sent Events answer: messages sent, a comment every KEEPALIVE_MS, ended once. */
export interface EventStream {
  send(event: string, data: unknown): void;
  end(): void;
  readonly ended: boolean;
}

/** Takes the reply over as a Server-Sent Events stream (the route writes its messages itself). */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.write(": connected\n\n");
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);
  return {
    send(event, data) {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      clearInterval(keepAlive);
      if (!res.writableEnded) res.end();
    },
    get ended() {
      return res.writableEnded;
    },
  };
}
