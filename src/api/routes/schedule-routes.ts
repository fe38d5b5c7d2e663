import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../../errors.js";
import type { JobQueue } from "../../queue/job-queue.js";
import type { Schedules } from "../../queue/schedules.js";
import { genericSubmitInput } from "../generic-submit.js";
import {
  CreateScheduleBody,
  DeleteScheduleResponse,
  ScheduleListResponse,
  ScheduleNameParams,
  ScheduleResponse,
  scheduleAnswer,
} from "../schedule-schemas.js";
import { ErrorResponse } from "../schemas.js";

const errors = { 400: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse };

/**
 * The job body of a new schedule, checked as `POST /batch/jobs` checks a submit (type, items, options, the
 * processor's own checks), so that a bad one is a 422 now rather than a failure at its first tick. Issues are
 * located under `body.job`.
 */
async function checkScheduleJob(queue: JobQueue, job: CreateScheduleBody["job"]): Promise<void> {
  try {
    await queue.check(genericSubmitInput(queue, job));
  } catch (e: unknown) {
    if (!(e instanceof InvalidInputError)) throw e;
    throw new InvalidInputError(
      e.issues.map((i) => ({ ...i, loc: i.loc[0] === "body" ? ["body", "job", ...i.loc.slice(1)] : i.loc })),
    );
  }
}

/** `/batch/schedules`: recurring jobs (cron, time zone, the job to submit at each tick), pause and resume. */
export function registerScheduleRoutes(
  fastify: FastifyInstance,
  queue: JobQueue,
  schedules: Schedules,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ["schedules"];
  const one = { params: ScheduleNameParams, response: { 200: ScheduleResponse, ...errors } };

  app.post(
    "/batch/schedules",
    {
      schema: {
        tags,
        summary: "Create a schedule: a job submitted at each tick of a cron expression",
        body: CreateScheduleBody,
        response: { 200: ScheduleResponse, 409: ErrorResponse, ...errors },
      },
    },
    async (request) => {
      const { name, cron, timezone, job } = request.body;
      await checkScheduleJob(queue, job);
      return scheduleAnswer(await schedules.create({ name, cron, timezone, job }));
    },
  );

  app.get(
    "/batch/schedules",
    { schema: { tags, summary: "List schedules, by name", response: { 200: ScheduleListResponse } } },
    async () => ({ schedules: (await schedules.list()).map(scheduleAnswer) }),
  );

  app.get("/batch/schedules/:name", { schema: { tags, summary: "One schedule", ...one } }, async (request) =>
    scheduleAnswer(await schedules.get(request.params.name)),
  );

  app.delete(
    "/batch/schedules/:name",
    {
      schema: {
        tags,
        summary: "Delete a schedule (the jobs it made stay)",
        params: ScheduleNameParams,
        response: { 200: DeleteScheduleResponse, ...errors },
      },
    },
    async (request) => {
      await schedules.delete(request.params.name);
      return { status: "deleted" as const, name: request.params.name };
    },
  );

  app.post(
    "/batch/schedules/:name/pause",
    { schema: { tags, summary: "Pause a schedule: no firings until it is resumed", ...one } },
    async (request) => scheduleAnswer(await schedules.pause(request.params.name)),
  );

  app.post(
    "/batch/schedules/:name/resume",
    {
      schema: {
        tags,
        summary:
          "Resume a schedule: it fires from the next tick on (the ticks missed while paused are not made up)",
        ...one,
      },
    },
    async (request) => scheduleAnswer(await schedules.resume(request.params.name)),
  );
}
