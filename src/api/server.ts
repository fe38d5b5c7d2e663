import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { JobQueue } from "../queue/job-queue.js";
import type { ModelHostStatus } from "../queue/register-context.js";
import type { Retention } from "../queue/retention.js";
import type { Schedules } from "../queue/schedules.js";
import { VERSION } from "../version.js";
import { installApiKeyAuth, presentedKey } from "./auth.js";
import { installBrowserGuard } from "./browser-guard.js";
import { connectionServerOptions, installBodyBudget, limitConnections } from "./connection-limits.js";
import { installErrorHandler } from "./error-handler.js";
import { clientErrorAnswer, frameworkErrorAnswer } from "./framework-errors.js";
import type { Metrics } from "./metrics.js";
import { clientDocument } from "./openapi-document.js";
import type { OriginPolicy } from "./origin-policy.js";
import { registerBatchRoutes } from "./routes/batch-routes.js";
import { registerDashboardRoute } from "./routes/dashboard-route.js";
import { registerItemRoutes } from "./routes/item-routes.js";
import { registerReadyRoute } from "./routes/ready-route.js";
import { registerScheduleRoutes } from "./routes/schedule-routes.js";
import { registerStreamRoutes } from "./routes/stream-routes.js";
import { registerWorkflowRoutes } from "./routes/workflow-routes.js";
import { MAX_PARAM_LENGTH } from "./schemas.js";
import { installValidators } from "./validators.js";

export interface ApiOptions {
  maxBodyBytes: number;
  apiKeys: readonly string[];
  /** Requests per minute per key or IP; 0 = off. */
  rateLimitPerMinute: number;
  logLevel?: string;
  /** The process's logger (pino): Fastify logs through a child of it at `logLevel`, never a logger of its own. */
  logger?: FastifyBaseLogger;
  /** Called by /health and /ready: started when it resolves true. */
  ready?: () => Promise<boolean>;
  /** Resolves when the store can take a write, throws why not: /ready. */
  writable?: () => Promise<void>;
  /** The model hosts (Ollama) as they answer now: /ready. */
  modelHosts?: () => Promise<readonly ModelHostStatus[]>;
  /** More facts /health reports (how commands are jailed). */
  health?: () => Record<string, unknown>;
  /** Served at /metrics (Prometheus text). */
  metrics?: Metrics;
  /** Which Host values and browser origins are served (everything, when absent: a library embedding). */
  originPolicy?: OriginPolicy;
  /** Connections served at once; more are closed as they arrive. */
  maxConnections?: number;
  /** Deletes ended jobs on demand (`DELETE ...?purge=true`, `POST /batch/cleanup`); absent: no such routes. */
  retention?: Retention;
  /** Recurring schedules (`/batch/schedules`); absent: no such routes. */
  schedules?: Schedules;
}

/** The Fastify app: every route of the contract, its OpenAPI, docs, auth and limits. */
export async function buildApi(queue: JobQueue, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.maxBodyBytes,
    ...(options.logger
      ? { loggerInstance: options.logger.child({}, { level: options.logLevel ?? "warn" }) }
      : { logger: options.logLevel && options.logLevel !== "silent" ? { level: options.logLevel } : false }),
    forceCloseConnections: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorAnswer,
    clientErrorHandler: clientErrorAnswer,
    ...connectionServerOptions(),
  });
  limitConnections(app.server, options.maxConnections);
  installBodyBudget(app, options.maxBodyBytes);
  installValidators(app);
  installErrorHandler(app, options.maxBodyBytes);
  if (options.originPolicy) installBrowserGuard(app, options.originPolicy);
  installApiKeyAuth(app, options.apiKeys);
  if (options.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: options.rateLimitPerMinute,
      timeWindow: "1 minute",
      keyGenerator: (req) => {
        const key = presentedKey(req);
        return key ? `key:${key}` : `ip:${req.ip}`;
      },
      allowList: (req) => req.url === "/health" || req.url === "/ready",
      errorResponseBuilder: (_req, ctx) => {
        const err = new Error(`Rate limit exceeded: ${ctx.max} requests per ${ctx.after}; retry later`);
        return Object.assign(err, { statusCode: 429 });
      },
    });
  }
  await app.register(swagger, {
    transformObject: (documentObject) =>
      "openapiObject" in documentObject
        ? clientDocument(documentObject.openapiObject)
        : documentObject.swaggerObject,
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "ollama-coder",
        version: VERSION,
        description:
          "Batch server for a local-model coding agent: agent tasks, validation, tests and MCP operations.",
      },
      components: {
        // Only when calls need a key: without security schemes Swagger UI shows no "Authorize" button.
        ...(options.apiKeys.length > 0
          ? {
              securitySchemes: {
                bearer: { type: "http", scheme: "bearer" },
                apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
              },
            }
          : {}),
      },
      ...(options.apiKeys.length > 0 ? { security: [{ bearer: [] }, { apiKey: [] }] } : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  // Liveness: 200 whenever the process answers (still starting says so in the body; /ready is the 503).
  app.get(
    "/health",
    { schema: { tags: ["meta"], summary: "Liveness: the process serves (and how commands are jailed)" } },
    async () => {
      const started = options.ready ? await options.ready() : true;
      return { status: started ? "ok" : "starting", version: VERSION, ...options.health?.() };
    },
  );
  // /health says the process is alive; /ready that it can take work now (the store, the model hosts).
  registerReadyRoute(app, {
    started: options.ready,
    writable: options.writable,
    modelHosts: options.modelHosts,
  });
  await app.register(websocket);
  registerBatchRoutes(app, queue, options.retention ?? null);
  if (options.schedules) registerScheduleRoutes(app, queue, options.schedules);
  registerItemRoutes(app, queue);
  registerStreamRoutes(app, queue);
  registerWorkflowRoutes(app, queue);
  registerDashboardRoute(app, queue, { authRequired: options.apiKeys.length > 0 });
  const metrics = options.metrics;
  if (metrics) {
    app.get(
      "/metrics",
      { schema: { tags: ["meta"], summary: "Prometheus metrics" } },
      async (_req, reply) => {
        reply.header("content-type", metrics.registry.contentType);
        return metrics.registry.metrics();
      },
    );
  }
  return app;
}
