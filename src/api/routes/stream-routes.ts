import type {} from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Static, type TSchema, Type } from "typebox";
import { FINAL_JOB_STATUSES } from "../../domain/statuses.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { PLAIN_JSON_SERIALIZER } from "../job-answer-stream.js";
import { followJobEvents, type StreamMessage } from "../job-events.js";
import { anyJobSchema } from "../kind-schemas.js";
import { ErrorResponse, JobIdParams, literals } from "../schemas.js";
import { openEventStream } from "../sse.js";
import { followWorkflow } from "../workflow-events.js";

/** Serves a subscription as Server-Sent Events until the client leaves (or the job ends). */
function serveSse(queue: JobQueue, request: FastifyRequest, reply: FastifyReply, jobId: string | null): void {
  const sse = openEventStream(reply);
  const end = () => {
    stop();
    sse.end();
  };
  const stop = followJobEvents(queue, {
    jobId,
    send: (m: StreamMessage) => sse.send(m.event, m.data),
    onEnd: end,
  });
  request.raw.on("close", end);
}

const ItemEvent = Type.Object(
  { job_id: Type.String(), seq: Type.Integer(), id: Type.String(), status: Type.String() },
  { title: "ItemEvent" },
);

/** The messages of the event streams: SSE sends `event: <event>` and `data: <data as JSON>`. */
const EventMessage = (job: TSchema) =>
  Type.Union(
    [
      Type.Object({ event: Type.Literal("progress"), data: job }, { title: "ProgressMessage" }),
      Type.Object(
        { event: Type.Literal("waiting"), data: job },
        {
          title: "WaitingMessage",
          description:
            "The job is queued until the jobs in its waiting_for end (depends_on); said once, before its progress.",
        },
      ),
      Type.Object({ event: Type.Literal("item"), data: ItemEvent }, { title: "ItemMessage" }),
      Type.Object(
        { event: Type.Union(literals(FINAL_JOB_STATUSES)), data: job },
        {
          title: "EndMessage",
          description: "The job's answer as it ended (with summary.usage, not results).",
        },
      ),
    ],
    { title: "EventMessage" },
  );

/** An SSE route's 200: the messages it sends, documented (the route writes them itself). */
const sseResponse = (job: TSchema) => ({
  200: {
    description: "Server-Sent Events: `event: <event>` then `data: <data as JSON>`, per message.",
    content: { "text/event-stream": { schema: EventMessage(job) } },
  },
});

const WsQuery = Type.Object({
  job_id: Type.Optional(Type.String({ maxLength: 200 })),
  all: Type.Optional(Type.Boolean()),
});

export function registerStreamRoutes(app: FastifyInstance, queue: JobQueue): void {
  const job = anyJobSchema(queue.kinds());
  app.get(
    "/batch/jobs/:job_id/events",
    {
      schema: {
        tags: ["events"],
        summary:
          "Server-Sent Events for one job: waiting (on depends_on), progress (≤4/s), item, then completed | failed | cancelled",
        params: JobIdParams,
        response: { ...sseResponse(job), 404: ErrorResponse },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request, reply) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      await queue.get(job_id); // 404 before the stream starts
      serveSse(queue, request, reply, job_id);
    },
  );

  app.get(
    "/batch/events",
    {
      schema: {
        tags: ["events"],
        summary: "Server-Sent Events for every job (never ends on its own)",
        response: sseResponse(job),
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request, reply) => {
      serveSse(queue, request, reply, null);
    },
  );

  app.get(
    "/batch/ws",
    {
      websocket: true,
      schema: {
        tags: ["events"],
        summary:
          'WebSocket with the same messages ({"event","data"}); send {"subscribe": "<job_id>" | "*"}, or {"subscribe_workflow": "<workflow_id>"} for a workflow\'s progress, {"unsubscribe": "<job_id>" | "*" | "workflow:<workflow_id>"} to stop',
        querystring: WsQuery,
      },
    },
    (socket, request) => {
      const subs = new Map<string, () => void>();
      const send = (m: StreamMessage) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
      };
      const subscribe = (target: string) => {
        if (subs.has(target)) return;
        const jobId = target === "*" ? null : target;
        subs.set(target, followJobEvents(queue, { jobId, send, onEnd: () => subs.delete(target) }));
        send({ event: "subscribed", data: { job_id: jobId } });
      };
      // A workflow's progress: {"event": "progress" | completed | failed | cancelled, "data": <workflow answer>}.
      const subscribeWorkflow = async (id: string) => {
        const target = `workflow:${id}`;
        if (subs.has(target)) return;
        const workflow = await queue.findWorkflow(id);
        if (!workflow) {
          send({ event: "error", data: { detail: `Workflow not found: ${id}` } });
          return;
        }
        const stop = followWorkflow(
          queue,
          workflow,
          (event, data) => send({ event, data }),
          () => subs.delete(target),
        );
        subs.set(target, stop);
        send({ event: "subscribed", data: { workflow_id: id } });
      };
      const q = request.query as Static<typeof WsQuery>;
      if (q.job_id) subscribe(q.job_id);
      if (q.all) subscribe("*");
      socket.on("message", (raw: Buffer) => {
        let msg: { subscribe?: unknown; subscribe_workflow?: unknown; unsubscribe?: unknown };
        try {
          msg = JSON.parse(raw.toString()) as typeof msg;
        } catch {
          send({ event: "error", data: { detail: 'messages are JSON: {"subscribe": "<job_id>" | "*"}' } });
          return;
        }
        if (typeof msg.subscribe === "string") subscribe(msg.subscribe);
        if (typeof msg.subscribe_workflow === "string") void subscribeWorkflow(msg.subscribe_workflow);
        if (typeof msg.unsubscribe === "string") {
          subs.get(msg.unsubscribe)?.();
          subs.delete(msg.unsubscribe);
        }
      });
      socket.on("close", () => {
        for (const stop of subs.values()) stop();
        subs.clear();
      });
    },
  );
}
