import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { MAX_PARAM_LENGTH } from "./schemas.js";

/**
 * Errors Fastify and Node answer before a route runs (the error handler never sees them), in the same
 * FastAPI shape as every other answer: `{"detail": "…"}`.
 */

/** What the router raises itself: a path parameter too long (414), a URL that cannot be decoded (400). */
export function frameworkErrorAnswer(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    void reply.status(414).send({
      detail: `URI Too Long: a path parameter (such as a job id) has at most ${MAX_PARAM_LENGTH} characters`,
    });
    return;
  }
  if (error.code === "FST_ERR_BAD_URL") {
    void reply.status(400).send({ detail: `Bad Request: ${error.message}` });
    return;
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 400;
  void reply.status(status).send({ detail: error.message });
}

/** What Node's HTTP parser refuses (headers too large, a request too slow, bytes that are not HTTP). */
export function clientErrorAnswer(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, detail] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large (the URL or headers are longer than the server reads)"]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout: the request did not arrive in time"]
        : [400, "Bad Request: not a valid HTTP request"];
  const body = JSON.stringify({ detail });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(error);
}
