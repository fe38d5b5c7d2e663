import type { JsonObject } from "../domain/json.js";
import type { JobRecord } from "../domain/records.js";
import { InvalidInputError } from "../errors.js";
import type { Idempotency } from "../queue/idempotency.js";
import type { JobQueue, SubmitInput } from "../queue/job-queue.js";
import { resolveJobType } from "../queue/job-type-alias.js";
import { newWebhookState } from "../queue/webhook-state.js";
import { unknownNameMessage } from "../util/closest-match.js";
import { checkGenericSubmit } from "./kind-checks.js";
import type { GenericJobBody } from "./schemas.js";
import { dependenciesOf, retryOf, runAtOf } from "./submit-fields.js";
import { webhookUrlIssues } from "./webhooks/webhook-url.js";

/** A submit's metadata, with its webhook's state when it asked for one. */
export function withWebhook(metadata: JsonObject, url: unknown): JsonObject {
  return typeof url === "string" ? { ...metadata, webhook: newWebhookState(url) } : metadata;
}

/**
 * A `POST /batch/jobs` body (already valid against GenericJobBody) as the queue's submit: its webhook URL
 * and type checked, its items and options checked against the kind's schemas (defaults filled in). Throws a
 * 422. `metadata` goes into the job's metadata (a schedule's firing).
 */
export function genericSubmitInput(
  queue: JobQueue,
  body: GenericJobBody,
  extra: { metadata?: JsonObject; idempotency?: Idempotency | undefined } = {},
): SubmitInput {
  const urlIssues = webhookUrlIssues(body.webhook_url);
  if (urlIssues.length > 0) throw new InvalidInputError(urlIssues);
  const types = queue.types();
  // Its submit name (`validation`, `tests`, `mcp`…) stands for the stored type, as in `?job_type=` and the CLI.
  const type = resolveJobType(queue.kinds(), body.type);
  if (!types.includes(type))
    throw new InvalidInputError([
      {
        loc: ["body", "type"],
        msg: `${unknownNameMessage("job type", body.type, types)}; registered types: ${types.join(", ") || "none"}`,
        type: "value_error.job_type",
      },
    ]);
  const kind = queue.kind(type);
  const options = body.options;
  return {
    type,
    items: body.items,
    options: kind ? checkGenericSubmit(kind, body.items, options) : options,
    chunkSize: body.chunk_size,
    parallel: body.parallel,
    priority: body.priority,
    metadata: withWebhook({ total_items: body.items.length, ...extra.metadata }, body.webhook_url),
    idempotency: extra.idempotency,
    runAt: runAtOf(body as unknown as JsonObject, queue.nowSeconds()),
    retry: retryOf(body),
    ...dependenciesOf(body),
  };
}

/** Submits a `POST /batch/jobs` body through the queue (the route, and each firing of a schedule). */
export function submitGenericJob(
  queue: JobQueue,
  body: GenericJobBody,
  extra: { metadata?: JsonObject; idempotency?: Idempotency | undefined } = {},
): Promise<JobRecord> {
  return queue.submit(genericSubmitInput(queue, body, extra));
}
