import { Readable } from "node:stream";
import type { JobRecord } from "../domain/records.js";
import { FINAL_JOB_STATUSES } from "../domain/statuses.js";
import type { JobQueue } from "../queue/job-queue.js";
import { jobAnswer } from "./job-response.js";

/**
 * A JobResponse as JSON text, piece by piece: with `result.results` (an ended job, when asked for) the entries
 * are written a page at a time, so a 200,000-item answer is never built in memory at once and never holds up
 * the event loop. The text is exactly `JSON.stringify` of the whole answer (the same bytes as before).
 */
export async function* jobAnswerJson(
  queue: JobQueue,
  job: JobRecord,
  nowSeconds: number,
  includeResults: boolean,
): AsyncGenerator<string> {
  const answer = await jobAnswer(queue, job, nowSeconds);
  if (!includeResults || !FINAL_JOB_STATUSES.includes(job.status) || answer.result === null) {
    yield JSON.stringify(answer);
    return;
  }
  const entries = Object.entries(answer);
  const at = entries.findIndex(([k]) => k === "result");
  const head = JSON.stringify(Object.fromEntries(entries.slice(0, at)));
  const tail = JSON.stringify(Object.fromEntries(entries.slice(at + 1)));
  // `{"job_id":…,"progress":0` + `,"result":{"summary":…,"elapsed_seconds":1` + `,"results":[` …
  yield `${head.slice(0, -1)},"result":${JSON.stringify(answer.result).slice(0, -1)},"results":[`;
  let first = true;
  for await (const page of queue.resultPages(job.id)) {
    const text = page.map((e) => JSON.stringify(e)).join(",");
    yield first ? text : `,${text}`;
    first = false;
  }
  // … `]}` + `,"error":null,…,"metadata":{…}}`
  yield `]},${tail.slice(1)}`;
}

/** `{"jobs":[…],"total":n}` with each job's answer streamed as above. */
export async function* jobListJson(
  queue: JobQueue,
  jobs: JobRecord[],
  total: number,
  nowSeconds: number,
  includeResults: boolean,
): AsyncGenerator<string> {
  yield '{"jobs":[';
  for (const [i, job] of jobs.entries()) {
    if (i > 0) yield ",";
    yield* jobAnswerJson(queue, job, nowSeconds, includeResults);
  }
  yield `],"total":${JSON.stringify(total)}}`;
}

/**
 * Route options of the routes that answer job answers and items: serialized with JSON.stringify, as the
 * streamed answers are, so the response schema documents the answer (one of the kinds' shapes, entries with
 * fields the schema does not list) without choosing what is sent.
 */
export const PLAIN_JSON_SERIALIZER = {
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
} as const;

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Text pieces as a response body (pulled only as fast as the client reads). */
export function jsonBody(pieces: AsyncGenerator<string>): Readable {
  return Readable.from(pieces, { objectMode: false, highWaterMark: 64 * 1024 });
}

/** The reply methods sendJson needs (any route's reply, whatever its declared response type). */
interface StreamingReply {
  header(key: string, value: string): unknown;
  // Typed routes declare the JSON their schema describes; a stream of that JSON is sent instead.
  send(payload: never): unknown;
}

/** Sends JSON text pieces as the answer, streamed (the response schema's serializer is not involved). */
export function sendJson<R extends StreamingReply>(reply: R, pieces: AsyncGenerator<string>): R {
  reply.header("content-type", JSON_CONTENT_TYPE);
  reply.send(jsonBody(pieces) as never);
  return reply;
}
