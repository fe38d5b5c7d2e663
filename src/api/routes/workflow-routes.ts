import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { JsonObject } from "../../domain/json.js";
import { FINAL_JOB_STATUSES } from "../../domain/statuses.js";
import type { WorkflowSpec } from "../../domain/workflow.js";
import { ConflictError, JobStateError, NotFoundError } from "../../errors.js";
import type { JobQueue } from "../../queue/job-queue.js";
import { IdempotencyHeaders, idempotencyOf } from "../idempotency-key.js";
import { ErrorResponse } from "../schemas.js";
import { openEventStream } from "../sse.js";
import { workflowAnswer } from "../workflow-answer.js";
import { followWorkflow } from "../workflow-events.js";
import {
  ListWorkflowsQuery,
  WorkflowAnswer,
  WorkflowBody,
  WorkflowCancelResponse,
  WorkflowIdParams,
  WorkflowListResponse,
} from "../workflow-schemas.js";
import { prepareWorkflow } from "../workflow-submit.js";

const errors = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse };

export function registerWorkflowRoutes(fastify: FastifyInstance, queue: JobQueue): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    "/batch/workflows",
    {
      schema: {
        tags: ["workflows"],
        summary: "Submit a workflow: one job per step, each waiting for the steps it depends on",
        body: WorkflowBody,
        headers: IdempotencyHeaders,
        response: { 200: WorkflowAnswer, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const idempotency = idempotencyOf(
        "/batch/workflows",
        request.headers["idempotency-key"],
        body as unknown as JsonObject,
      );
      const spec: WorkflowSpec = { name: body.name, steps: body.steps };
      const { workflow, jobs } = await prepareWorkflow(queue, spec);
      const stored = await queue.submitWorkflow(workflow, jobs, idempotency);
      return workflowAnswer(queue, stored);
    },
  );

  app.get(
    "/batch/workflows",
    {
      schema: {
        tags: ["workflows"],
        summary: "List workflows, newest first, with the total",
        querystring: ListWorkflowsQuery,
        response: { 200: WorkflowListResponse, 422: ErrorResponse },
      },
    },
    async (request) => {
      const { workflows, total } = await queue.listWorkflows(request.query);
      // One workflow's steps at a time, the event loop turning between two: a page of a thousand workflows of a
      // hundred steps each is a hundred thousand job reads, which must not hold every other request meanwhile.
      const answers = [];
      for (const w of workflows) {
        answers.push(await workflowAnswer(queue, w));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { workflows: answers, total };
    },
  );

  app.get(
    "/batch/workflows/:workflow_id",
    {
      schema: {
        tags: ["workflows"],
        summary: "A workflow's status and progress, step by step (derived from its jobs)",
        params: WorkflowIdParams,
        response: { 200: WorkflowAnswer, ...errors },
      },
    },
    async (request) => workflowAnswer(queue, await queue.getWorkflow(request.params.workflow_id)),
  );

  app.delete(
    "/batch/workflows/:workflow_id",
    {
      schema: {
        tags: ["workflows"],
        summary: "Cancel every step of a workflow that has not ended",
        params: WorkflowIdParams,
        response: { 200: WorkflowCancelResponse, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => {
      const workflow = await queue.getWorkflow(request.params.workflow_id);
      const cancelled: string[] = [];
      for (const jobId of Object.values(workflow.jobs)) {
        const job = await queue.find(jobId);
        if (!job || FINAL_JOB_STATUSES.includes(job.status)) continue;
        try {
          await queue.cancel(jobId);
          cancelled.push(jobId);
        } catch (e: unknown) {
          // Ended meanwhile (or cancelled with an earlier step, by the cascade).
          if (!(e instanceof ConflictError) && !(e instanceof NotFoundError)) throw e;
        }
      }
      if (cancelled.length === 0) {
        const { status } = await workflowAnswer(queue, workflow);
        throw new JobStateError(`Workflow cannot be cancelled (status: ${status})`);
      }
      return { status: "cancelled" as const, workflow_id: workflow.id, cancelled_jobs: cancelled };
    },
  );

  app.get(
    "/batch/workflows/:workflow_id/events",
    {
      schema: {
        tags: ["events"],
        summary:
          "Server-Sent Events for a workflow: progress (the workflow's answer, ≤4/s) whenever one of its jobs moves, then completed | failed | cancelled",
        params: WorkflowIdParams,
        response: {
          200: {
            description:
              "Server-Sent Events: `event: progress|completed|failed|cancelled`, `data:` the workflow answer.",
            content: { "text/event-stream": { schema: WorkflowAnswer } },
          },
          404: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const workflow = await queue.getWorkflow(request.params.workflow_id);
      const sse = openEventStream(reply);
      const stop = followWorkflow(
        queue,
        workflow,
        (event, answer) => sse.send(event, answer),
        () => sse.end(),
      );
      const end = () => {
        stop();
        sse.end();
      };
      request.raw.on("close", end);
    },
  );
}
