import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import { errorMessage } from "../../errors.js";
import type { ModelHostStatus } from "../../queue/register-context.js";
import { ReadyResponse } from "../schemas.js";

export interface ReadinessProbes {
  /** Resolves true once the server has started. */
  started?: () => Promise<boolean>;
  /** Resolves when the store can take a write, throws why not. */
  writable?: () => Promise<void>;
  /** The model hosts as they answer now (none when no processor uses one). */
  modelHosts?: () => Promise<readonly ModelHostStatus[]>;
}

/**
 * GET /ready, for load balancers and people: 200 while the store takes writes (status `ready`, or `degraded`
 * when no model host answers: submissions are still accepted), 503 while starting or when the store cannot
 * be written. /health stays the cheap liveness probe.
 */
export function registerReadyRoute(fastify: FastifyInstance, probes: ReadinessProbes): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/ready",
    {
      schema: {
        tags: ["meta"],
        summary: "Readiness: the store can take writes; each Ollama host, its models and latency",
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_req, reply) => {
      const [started, store, ollama] = await Promise.all([
        probes.started ? probes.started() : true,
        storeStatus(probes.writable),
        probes.modelHosts ? probes.modelHosts() : [],
      ]);
      const answer: Static<typeof ReadyResponse> = {
        status: "ready",
        store,
        ollama: ollama.map((h) => ({ ...h })),
      };
      if (!started) {
        answer.status = "starting";
        answer.detail = "The server is starting";
        return reply.status(503).header("retry-after", "1").send(answer);
      }
      if (store.status === "unavailable") {
        answer.status = "unavailable";
        answer.detail = store.detail;
        return reply.status(503).header("retry-after", "5").send(answer);
      }
      if (ollama.length > 0 && !ollama.some((h) => h.reachable)) answer.status = "degraded";
      return reply.send(answer);
    },
  );
}

async function storeStatus(
  writable: (() => Promise<void>) | undefined,
): Promise<Static<typeof ReadyResponse>["store"]> {
  try {
    await writable?.();
    return { status: "usable" };
  } catch (e: unknown) {
    return { status: "unavailable", detail: `The database cannot be written: ${errorMessage(e)}` };
  }
}
