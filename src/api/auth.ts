import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthFailureLimiter } from "./auth-failure-limiter.js";
import { DASHBOARD_PATHS } from "./routes/dashboard-route.js";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1].trim();
  }
  const header = request.headers["x-api-key"];
  if (typeof header === "string" && header.trim()) return header.trim();
  return null;
}

/** /health and /ready for load balancers; the dashboard's page, script and icon (it asks for the key and sends it on every call). */
export const PUBLIC_PATHS = new Set(["/health", "/ready", ...DASHBOARD_PATHS]);

/**
 * Every route but /health needs one of the keys (compared in constant time). Wrong keys are counted per
 * client address, whatever the request rate limit says (it is off on loopback): past a few, the client waits,
 * exponentially longer, with a 429 — even with the right key, so guessing cannot go on meanwhile. Requests
 * with no key at all are refused without counting.
 */
export function installApiKeyAuth(
  app: FastifyInstance,
  keys: readonly string[],
  failures: AuthFailureLimiter = new AuthFailureLimiter(),
): void {
  if (keys.length === 0) return;
  const digests = keys.map(digest);
  app.addHook("onRequest", async (request, reply) => {
    if (PUBLIC_PATHS.has(request.url.split("?")[0] ?? "")) return;
    const key = presentedKey(request);
    // A request with no key guesses nothing: it is refused without counting, so that a web page (whose
    // cross-site requests carry no key) cannot lock the user out by failing on purpose.
    if (key === null)
      return reply.status(401).header("www-authenticate", "Bearer").send({ detail: "Not authenticated" });
    const wait = failures.blockedFor(request.ip);
    if (wait > 0) return tooManyFailures(reply, wait);
    const d = digest(key);
    if (digests.some((k) => timingSafeEqual(k, d))) {
      failures.succeed(request.ip);
      return;
    }
    const blocked = failures.fail(request.ip);
    if (blocked > 0) return tooManyFailures(reply, blocked);
    return reply.status(401).header("www-authenticate", "Bearer").send({ detail: "Invalid API key" });
  });
}

function tooManyFailures(reply: FastifyReply, waitMs: number) {
  const seconds = Math.ceil(waitMs / 1000);
  return reply
    .status(429)
    .header("retry-after", String(seconds))
    .send({ detail: `Too many failed authentication attempts; retry in ${seconds} s` });
}
