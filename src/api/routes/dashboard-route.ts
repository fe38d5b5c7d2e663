import type { FastifyInstance } from "fastify";
import {
  FINAL_JOB_STATUSES,
  ITEM_STATUSES,
  type ItemStatus,
  JOB_STATUSES,
  type JobStatus,
} from "../../domain/statuses.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { DASHBOARD_JS } from "../../web/dashboard-client.js";
import type { DashboardConfig, Tone } from "../../web/dashboard-config.js";
import { DASHBOARD_SCRIPT_PATH, dashboardPage, FAVICON_PATH } from "../../web/dashboard-page.js";
import { FAVICON_SVG, FAVICON_TYPE } from "../../web/favicon.js";
import { dashboardKinds } from "../dashboard-kinds.js";

/** Scripts from the server itself only (none inline), inline styles, images from here; nothing may frame it. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** The paths the dashboard serves without a key (the page asks for it, then sends it on every API call). */
export const DASHBOARD_PATHS = ["/", DASHBOARD_SCRIPT_PATH, FAVICON_PATH] as const;

/** Every job and item status, coloured (a new status will not compile until it has a colour). */
const TONES: Record<JobStatus | ItemStatus, Tone> = {
  queued: "queued",
  running: "running",
  completed: "ok",
  succeeded: "ok",
  failed: "bad",
  skipped: "off",
  cancelled: "off",
};
/** Result-entry words older results carry for a failure (a check that could not run). */
const LEGACY_TONES: Record<string, Tone> = { error: "bad" };

/** Item statuses a person may run again: those that did not succeed. */
const RERUN_STATUSES = ITEM_STATUSES.filter((s) => s === "failed" || s === "cancelled");

/** GET /: the dashboard, served by the server itself; its script and its icon. */
export function registerDashboardRoute(
  app: FastifyInstance,
  queue: JobQueue,
  options: { authRequired: boolean },
): void {
  app.get("/", { schema: { hide: true } }, async (_request, reply) => {
    const kinds = queue.kinds();
    const config: DashboardConfig = {
      authRequired: options.authRequired,
      jobStatuses: JOB_STATUSES,
      finalJobStatuses: FINAL_JOB_STATUSES,
      jobTypes: kinds.map((k) => k.type),
      itemStatuses: ITEM_STATUSES,
      tones: { ...LEGACY_TONES, ...TONES },
      rerunStatuses: RERUN_STATUSES,
      kinds: dashboardKinds(kinds),
    };
    reply
      .header("content-type", "text/html; charset=utf-8")
      .header("content-security-policy", DASHBOARD_CSP)
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "no-store");
    return dashboardPage(config);
  });
  app.get(DASHBOARD_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) => {
    reply
      .header("content-type", "text/javascript; charset=utf-8")
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "no-cache");
    return DASHBOARD_JS;
  });
  app.get(FAVICON_PATH, { schema: { hide: true } }, async (_request, reply) => {
    reply
      .header("content-type", FAVICON_TYPE)
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "public, max-age=86400");
    return FAVICON_SVG;
  });
}
