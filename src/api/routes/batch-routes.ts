import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import type { JsonObject } from "../../domain/json.js";
import { FINAL_JOB_STATUSES, type JobStatus } from "../../domain/statuses.js";
import { type FieldIssue, InvalidInputError } from "../../errors.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { BATCH_ENDPOINTS, pick } from "../batch-endpoints.js";
import { JSON_CONTENT_TYPE, jobAnswerJson, jobListJson, jsonBody } from "../job-answer-stream.js";
import { toJobResponse } from "../job-response.js";
import {
  CancelResponse,
  ErrorResponse,
  GenericJobBody,
  GetJobQuery,
  JobIdParams,
  JobListResponse,
  JobResponse,
  ListJobsQuery,
  StatsResponse,
} from "../schemas.js";

const nowSeconds = (): number => Date.now() / 1000;

const errors = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse };

export function registerBatchRoutes(app: FastifyInstance, queue: JobQueue): void {
  for (const ep of BATCH_ENDPOINTS) {
    app.post(
      ep.path,
      {
        schema: {
          tags: ["batch"],
          summary: ep.summary,
          body: ep.body,
          response: { 200: JobResponse, ...errors },
        },
      },
      async (request) => {
        const body = request.body as JsonObject;
        const rawItems = body[ep.itemsField] as JsonObject[];
        const issues: FieldIssue[] = [];
        const items = rawItems.map((raw, index) => {
          if (ep.checkItem)
            for (const issue of ep.checkItem(raw))
              issues.push({ ...issue, loc: ["body", ep.itemsField, index, ...issue.loc] });
          return pick(raw, ep.itemFields);
        });
        if (issues.length > 0) throw new InvalidInputError(issues.slice(0, 100));
        const job = await queue.submit({
          type: ep.type,
          items,
          options: pick(body, ep.optionFields),
          chunkSize: body.chunk_size as number,
          parallel: body.parallel as number,
          metadata: { [ep.totalKey]: items.length },
          itemsField: ep.itemsField,
        });
        return toJobResponse(job, nowSeconds());
      },
    );
  }

  app.post(
    "/batch/jobs",
    {
      schema: {
        tags: ["batch"],
        summary: "Submit items of any registered job type",
        body: GenericJobBody,
        response: { 200: JobResponse, ...errors },
      },
    },
    async (request) => {
      const body = request.body as Static<typeof GenericJobBody>;
      const job = await queue.submit({
        type: body.type,
        items: body.items as JsonObject[],
        options: body.options as JsonObject,
        chunkSize: body.chunk_size,
        parallel: body.parallel,
        metadata: { total_items: body.items.length },
      });
      return toJobResponse(job, nowSeconds());
    },
  );

  app.get(
    "/batch/jobs/:job_id",
    {
      schema: {
        tags: ["jobs"],
        summary: "Status, progress and (by default) results of one job",
        params: JobIdParams,
        querystring: GetJobQuery,
        response: { 200: JobResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      const { include_results } = request.query as Static<typeof GetJobQuery>;
      const job = await queue.get(job_id);
      if (!include_results || !FINAL_JOB_STATUSES.includes(job.status))
        return toJobResponse(job, nowSeconds());
      reply.header("content-type", JSON_CONTENT_TYPE);
      return reply.send(jsonBody(jobAnswerJson(queue, job, nowSeconds(), true)));
    },
  );

  app.get(
    "/batch/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "List jobs, newest first, with the total that match",
        querystring: ListJobsQuery,
        response: { 200: JobListResponse, 422: ErrorResponse },
      },
    },
    async (request, reply) => {
      const q = request.query as Static<typeof ListJobsQuery>;
      const { jobs, total } = await queue.list({
        status: q.status as JobStatus | undefined,
        type: q.job_type,
        limit: q.limit,
        offset: q.offset,
      });
      const now = nowSeconds();
      if (!q.include_results) return { jobs: jobs.map((job) => toJobResponse(job, now)), total };
      reply.header("content-type", JSON_CONTENT_TYPE);
      return reply.send(jsonBody(jobListJson(queue, jobs, total, now, true)));
    },
  );

  app.delete(
    "/batch/jobs/:job_id",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a queued or running job",
        params: JobIdParams,
        response: { 200: CancelResponse, ...errors },
      },
    },
    async (request) => {
      const { job_id } = request.params as Static<typeof JobIdParams>;
      await queue.cancel(job_id);
      return { status: "cancelled" as const, job_id };
    },
  );

  app.get(
    "/batch/stats",
    { schema: { tags: ["jobs"], summary: "Jobs by status", response: { 200: StatsResponse } } },
    async () => ({ stats: await queue.stats() }),
  );
}
