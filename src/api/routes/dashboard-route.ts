import type { FastifyInstance } from "fastify";
import { DASHBOARD_HTML } from "../../web/dashboard-page.js";

/** GET /: the dashboard, served by the server itself. */
export function registerDashboardRoute(app: FastifyInstance): void {
  app.get("/", { schema: { hide: true } }, async (_request, reply) => {
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header(
        "content-security-policy",
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:",
      )
      .header("x-content-type-options", "nosniff");
    return DASHBOARD_HTML;
  });
}
