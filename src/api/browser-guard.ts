import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInputError } from "../errors.js";
import { presentedKey } from "./auth.js";
import { jsonTooDeep, MAX_JSON_DEPTH } from "./json-depth.js";
import type { OriginPolicy } from "./origin-policy.js";

/** A route that takes no body, or one whose fields are all optional (`config: { bodyOptional: true }`). */
function bodyOptional(request: FastifyRequest): boolean {
  return !request.routeOptions.schema?.body || request.routeOptions.config?.bodyOptional === true;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route takes an empty body (or none) as `{}`: every field of its body is optional. */
    bodyOptional?: boolean;
  }
}

const CORS_METHODS = "GET, POST, PATCH, DELETE";
const CORS_HEADERS = "authorization, content-type, idempotency-key, x-api-key";
const CORS_MAX_AGE_SECONDS = 600;

const isJson = (request: FastifyRequest): boolean =>
  /^application\/json\s*(;|$)/i.test(request.headers["content-type"] ?? "");

/**
 * What keeps web pages from driving the server (before authentication, so it holds without keys too):
 * - a Host the policy does not serve is refused with 421 (DNS rebinding);
 * - a request a browser marks as cross-site or same-site (Sec-Fetch-Site) is refused with 403, but for a
 *   top-level navigation and the --cors-origin's CORS requests, so even requests without an Origin (an <img>,
 *   a no-cors fetch) do nothing;
 * - no page may frame ours (X-Frame-Options, CSP frame-ancestors);
 * - a request carrying a foreign Origin is refused with 403, whatever its method, WebSocket and event-stream
 *   upgrades included (a page may only call its own server, or the --cors-origin, which gets CORS headers);
 * - a POST that takes no body (retry) needs `Content-Type: application/json` or an API key: a page cannot send
 *   either cross-site without a preflight, and preflights are granted to the --cors-origin only.
 * Routes with a body are already JSON only (any other body, text/plain included, is a 415).
 */
export function installBrowserGuard(app: FastifyInstance, policy: OriginPolicy): void {
  const refuse = (request: FastifyRequest, reply: FastifyReply, status: number, detail: string) => {
    // A refused WebSocket upgrade owns its socket (the HTTP server no longer does): close it once answered.
    if (request.headers.upgrade) reply.raw.once("finish", () => request.raw.socket.destroySoon());
    return reply.status(status).header("connection", "close").send({ detail });
  };
  app.addHook("onRequest", async (request, reply) => {
    const host = request.headers.host;
    if (!policy.hostAllowed(host)) {
      return refuse(
        request,
        reply,
        421,
        `Host '${host}' is not allowed; serve other names with --allowed-hosts (OLLAMA_CODER_ALLOWED_HOSTS)`,
      );
    }
    // Browsers say where a request comes from even when they send no Origin (an <img>, a no-cors fetch): from
    // another site it is refused (but a top-level navigation to a page, which cannot read or change a thing).
    const site = request.headers["sec-fetch-site"];
    const mode = request.headers["sec-fetch-mode"];
    const fromCorsOrigin =
      mode === "cors" && request.headers.origin !== undefined && policy.isCorsOrigin(request.headers.origin);
    if (
      (site === "cross-site" || site === "same-site") &&
      !fromCorsOrigin && // the --cors-origin's CORS requests (and preflights) go on to the CORS rules below
      !(mode === "navigate" && (request.method === "GET" || request.method === "HEAD"))
    ) {
      return refuse(request, reply, 403, `a ${site} request from a web page is refused`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!policy.sameOrigin(origin, host, request.socket.localPort)) {
        return refuse(
          request,
          reply,
          403,
          `Origin '${origin}' is not allowed: cross-site requests are refused (allow one with --cors-origin)`,
        );
      }
      if (policy.isCorsOrigin(origin)) {
        reply.header("access-control-allow-origin", origin).header("vary", "Origin");
        if (request.method === "OPTIONS" && request.headers["access-control-request-method"]) {
          return reply
            .status(204)
            .header("access-control-allow-methods", CORS_METHODS)
            .header("access-control-allow-headers", CORS_HEADERS)
            .header("access-control-max-age", String(CORS_MAX_AGE_SECONDS))
            .send();
        }
      }
    }
    if (
      request.method === "POST" &&
      !request.is404 &&
      bodyOptional(request) &&
      !isJson(request) &&
      presentedKey(request) === null
    ) {
      return reply.status(415).send({
        detail: "This request needs 'Content-Type: application/json' (or an API key), even without a body",
      });
    }
  });

  // No page may frame ours (the dashboard's buttons under a decoy: clickjacking).
  app.addHook("onSend", async (_request, reply) => {
    reply.header("x-frame-options", "DENY");
    // A route's own policy (the dashboard's) is kept, with frame-ancestors added when it does not say it.
    const own = reply.getHeader("content-security-policy");
    if (typeof own !== "string" || own === "")
      reply.header("content-security-policy", "frame-ancestors 'none'");
    else if (!/(^|;)\s*frame-ancestors\s/.test(own))
      reply.header("content-security-policy", `${own}; frame-ancestors 'none'`);
  });

  // A route without a body accepts `Content-Type: application/json` with nothing after it (curl -X POST -H …).
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    // … and so does a route whose body is optional (`config: { bodyOptional: true }`, e.g. retry).
    if (body.length === 0 && bodyOptional(request)) return done(null, undefined);
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (jsonTooDeep(text)) {
      const issue = {
        loc: ["body"],
        msg: `JSON nests deeper than ${MAX_JSON_DEPTH} levels`,
        type: "json_too_deep",
      };
      return done(new InvalidInputError([issue]), undefined);
    }
    return json(request, text, (err, value) => {
      // Valid JSON that the parser still refused holds a key that could change objects' prototypes: say so.
      if (err && parsesAsJson(text)) return done(new InvalidInputError([PROTOTYPE_KEY_ISSUE]), undefined);
      done(err, value);
    });
  });
  // A body is JSON or nothing: text/plain (which a page may send cross-site without asking) is a 415 too.
  app.removeContentTypeParser("text/plain");
}

const PROTOTYPE_KEY_ISSUE = {
  loc: ["body"],
  msg: "JSON decode error: a key named __proto__ (or constructor holding prototype) is refused: it could change the server's objects",
  type: "json_invalid",
};

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
