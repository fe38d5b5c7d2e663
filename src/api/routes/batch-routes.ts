import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { JsonObject } from "../../domain/json.js";
import { FINAL_JOB_STATUSES } from "../../domain/statuses.js";
import { ConflictError } from "../../errors.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { resolveJobType } from "../../queue/job-type-alias.js";
import type { Retention } from "../../queue/retention.js";
import { submitGenericJob } from "../generic-submit.js";
import { IdempotencyHeaders, idempotencyOf } from "../idempotency-key.js";
import { jobAnswerJson, jobListJson, PLAIN_JSON_SERIALIZER, sendJson } from "../job-answer-stream.js";
import { jobAnswer, toJobResponse } from "../job-response.js";
import { anyJobSchema, kindJobSchema } from "../kind-schemas.js";
import { kindSubmitInput } from "../kind-submit.js";
import {
  CancelJobQuery,
  CancelledResponse,
  CancelOrPurgeResponse,
  CleanupBody,
  CleanupResponse,
  DeleteJobQuery,
} from "../retention-schemas.js";
import {
  ErrorResponse,
  GenericJobBody,
  GetJobQuery,
  JobIdParams,
  JobListResponse,
  ListJobsQuery,
  PatchJobBody,
  StatsResponse,
} from "../schemas.js";
import { submitBody } from "../submit-body.js";

const errors = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse };

export function registerBatchRoutes(
  fastify: FastifyInstance,
  queue: JobQueue,
  retention: Retention | null = null,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const AnyJob = anyJobSchema(queue.kinds());
  // One submit route for each declared kind that offers one.
  for (const kind of queue.kinds()) {
    const route = kind.submit;
    if (!route) continue;
    app.post(
      route.path,
      {
        schema: {
          tags: ["batch"],
          summary: route.summary,
          body: submitBody(kind, route),
          headers: IdempotencyHeaders,
          response: { 200: kindJobSchema(kind), 409: ErrorResponse, ...errors },
        },
        ...PLAIN_JSON_SERIALIZER,
      },
      async (request) => {
        const body = request.body as JsonObject;
        const idempotency = idempotencyOf(route.path, request.headers["idempotency-key"], body);
        const job = await queue.submit(kindSubmitInput(queue, kind, route, body, idempotency));
        return toJobResponse(job, queue.nowSeconds());
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
        headers: IdempotencyHeaders,
        response: { 200: AnyJob, 409: ErrorResponse, ...errors },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request) => {
      const body = request.body;
      const job = await submitGenericJob(queue, body, {
        idempotency: idempotencyOf("/batch/jobs", request.headers["idempotency-key"], body),
      });
      return toJobResponse(job, queue.nowSeconds());
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
        response: { 200: AnyJob, ...errors },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request, reply) => {
      const { job_id } = request.params;
      const { include_results } = request.query;
      const job = await queue.get(job_id);
      if (!include_results || !FINAL_JOB_STATUSES.includes(job.status)) return jobAnswer(queue, job);
      return sendJson(reply, jobAnswerJson(queue, job, queue.nowSeconds(), true));
    },
  );

  app.get(
    "/batch/jobs",
    {
      schema: {
        tags: ["jobs"],
        summary: "List jobs, newest first, with the total that match",
        querystring: ListJobsQuery,
        response: { 200: JobListResponse(AnyJob), 422: ErrorResponse },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request, reply) => {
      const q = request.query;
      const { jobs, total } = await queue.list({
        status: q.status,
        type: q.job_type === undefined ? undefined : resolveJobType(queue.kinds(), q.job_type),
        limit: q.limit,
        offset: q.offset,
      });
      const now = queue.nowSeconds();
      if (!q.include_results)
        return { jobs: await Promise.all(jobs.map((job) => jobAnswer(queue, job, now))), total };
      return sendJson(reply, jobListJson(queue, jobs, total, now, true));
    },
  );

  app.patch(
    "/batch/jobs/:job_id",
    {
      schema: {
        tags: ["jobs"],
        summary: "Change the priority of a queued or running job",
        params: JobIdParams,
        body: PatchJobBody,
        response: { 200: AnyJob, 409: ErrorResponse, ...errors },
      },
      ...PLAIN_JSON_SERIALIZER,
    },
    async (request) =>
      jobAnswer(queue, await queue.setPriority(request.params.job_id, request.body.priority)),
  );

  const cancel = async (job_id: string, cascade: boolean) => {
    await queue.cancel(job_id, cascade);
    return { status: "cancelled" as const, job_id };
  };
  app.delete(
    "/batch/jobs/:job_id",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a queued or running job; with purge=true, delete an ended one",
        params: JobIdParams,
        querystring: DeleteJobQuery,
        response: { 200: CancelOrPurgeResponse, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => {
      const { job_id } = request.params;
      if (request.query.purge) {
        if (!retention) throw new ConflictError("this server does not delete jobs");
        await retention.purge(job_id);
        return { status: "purged" as const, job_id };
      }
      return cancel(job_id, request.query.cascade);
    },
  );

  app.post(
    "/batch/jobs/:job_id/cancel",
    {
      schema: {
        tags: ["jobs"],
        summary: "Cancel a queued or running job (and, by default, the jobs waiting on it)",
        params: JobIdParams,
        querystring: CancelJobQuery,
        response: { 200: CancelledResponse, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => cancel(request.params.job_id, request.query.cascade),
  );

  if (retention)
    app.post(
      "/batch/cleanup",
      {
        schema: {
          tags: ["jobs"],
          summary: "Delete ended jobs older than a number of days (and their items)",
          body: CleanupBody,
          response: { 200: CleanupResponse, ...errors },
        },
      },
      async (request) => {
        const { older_than_days, status } = request.body;
        const statuses = status === undefined ? null : Array.isArray(status) ? status : [status];
        return retention.cleanup(older_than_days, statuses);
      },
    );

  app.get(
    "/batch/stats",
    {
      schema: {
        tags: ["jobs"],
        summary: "Jobs by status, and the result cache's hits",
        response: { 200: StatsResponse },
      },
    },
    async () => ({ stats: { ...(await queue.stats()), cache: await queue.cacheStats() } }),
  );
}
