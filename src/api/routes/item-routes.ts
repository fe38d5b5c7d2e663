import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { type Static, Type } from "typebox";
import type { JsonObject } from "../../domain/json.js";
import type { JobRecord } from "../../domain/records.js";
import { ITEM_STATUS_FILTERS, storedItemStatus } from "../../domain/statuses.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { PLAIN_JSON_SERIALIZER } from "../job-answer-stream.js";
import { toJobResponse } from "../job-response.js";
import { retryOptions } from "../kind-checks.js";
import { anyJobSchema } from "../kind-schemas.js";
import {
  AttemptsLog,
  ErrorResponse,
  JobIdParams,
  literals,
  PageLimit,
  PageOffset,
  RetryBody,
} from "../schemas.js";

const ItemsQuery = Type.Object({
  status: Type.Optional(
    Type.Union(literals(ITEM_STATUS_FILTERS), {
      description: `${ITEM_STATUS_FILTERS.join(" | ")}; every success word (and succeeded, successful) selects the items that succeeded`,
    }),
  ),
  limit: PageLimit(50),
  offset: PageOffset,
  failed_first: Type.Boolean({ default: false }),
});

/** What an item's processor reported (null until it ran, and for an item cancelled before it started). */
const ItemOutcome = Type.Object(
  { status: Type.String(), error: Type.Optional(Type.String()) },
  { additionalProperties: true, title: "ItemOutcome" },
);

const ItemView = Type.Object(
  {
    seq: Type.Integer(),
    id: Type.String(),
    status: Type.String(),
    attempts: Type.Integer(),
    item: Type.Object({}, { additionalProperties: true, description: "The item as submitted." }),
    result: Type.Union([ItemOutcome, Type.Null()]),
    error: Type.Union([Type.String(), Type.Null()]),
    worker_id: Type.Union([Type.String(), Type.Null()]),
    started_at: Type.Union([Type.Number(), Type.Null()]),
    finished_at: Type.Union([Type.Number(), Type.Null()]),
    next_attempt_at: Type.Union([Type.Number(), Type.Null()], {
      description: "A queued item waiting for its automatic retry: not before this (epoch seconds).",
    }),
    attempts_log: AttemptsLog,
  },
  { title: "Item" },
);

export function registerItemRoutes(app: FastifyInstance, queue: JobQueue): void {
  app.get(
    "/batch/jobs/:job_id/items",
    {
      schema: {
        tags: ["jobs"],
        summary: "A job's items, paginated, with the total that match",
        params: JobIdParams,
        querystring: ItemsQuery,
        response: {
          200: Type.Object({ items: Type.Array(ItemView), total: Type.Integer() }, { title: "ItemPage" }),
          404: ErrorResponse,
        },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      const q = request.query as Static<typeof ItemsQuery>;
      const job = await queue.get(job_id);
      const page = await queue.listItems(job_id, {
        status: q.status === undefined ? undefined : storedItemStatus(q.status),
        limit: q.limit,
        offset: q.offset,
        failedFirst: q.failed_first,
      });
      return {
        total: page.total,
        items: page.items.map((i) => ({
          seq: i.seq,
          id: i.itemId,
          status: queue.statusWord(job.type, i.status),
          attempts: i.attempts,
          item: i.payload,
          result: i.result,
          error: i.error,
          worker_id: i.workerId,
          started_at: i.startedAt,
          finished_at: i.finishedAt,
          next_attempt_at: i.notBefore,
          attempts_log: i.attemptsLog,
        })),
      };
    },
  );

  app.get(
    "/batch/jobs/:job_id/results.jsonl",
    {
      schema: {
        tags: ["jobs"],
        summary: "Every result as JSON lines, streamed (like OpenAI's batch output file)",
        params: JobIdParams,
        response: { 404: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      await queue.get(job_id);
      async function* lines() {
        for await (const page of queue.resultPages(job_id))
          yield `${page.map((e) => JSON.stringify(e)).join("\n")}\n`;
      }
      reply.header("content-type", "application/x-ndjson; charset=utf-8");
      reply.header("content-disposition", `attachment; filename="${job_id}-results.jsonl"`);
      return reply.send(Readable.from(lines()));
    },
  );

  app.post(
    "/batch/jobs/:job_id/retry",
    {
      config: { bodyOptional: true },
      // No body (curl -X POST with a JSON content type, or an API key alone) is the default retry.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
      schema: {
        tags: ["jobs"],
        summary:
          "Submit items of an ended job again as a new job: by default its failed items (and of a cancelled job its cancelled ones), with its options",
        params: JobIdParams,
        body: RetryBody,
        response: {
          200: anyJobSchema(queue.kinds()),
          400: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
        },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      const body = request.body as Static<typeof RetryBody>;
      const overrides = body.options;
      const options =
        overrides === undefined
          ? undefined
          : (job: JobRecord): JsonObject => {
              const kind = queue.kind(job.type);
              return kind ? retryOptions(kind, job.options, overrides) : { ...job.options, ...overrides };
            };
      const retried = await queue.retry(job_id, { include: body.include, items: body.items, options });
      return toJobResponse(retried, queue.nowSeconds());
    },
  );
}
