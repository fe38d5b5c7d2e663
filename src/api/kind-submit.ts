import { Ajv, type ValidateFunction } from "ajv";
import { type TObject, Type } from "typebox";
import type { JsonObject } from "../domain/json.js";
import { type FieldIssue, InvalidInputError } from "../errors.js";
import type { Idempotency } from "../queue/idempotency.js";
import type { JobKind, SubmitRoute } from "../queue/job-kind.js";
import type { JobQueue, SubmitInput } from "../queue/job-queue.js";
import { ajvIssue } from "./error-handler.js";
import { withWebhook } from "./generic-submit.js";
import { kindItemIssues } from "./kind-checks.js";
import { GenericJobBody } from "./schemas.js";
import { submitBody } from "./submit-body.js";
import { dependenciesOf, retryOf, runAtOf } from "./submit-fields.js";
import { BODY_AJV_OPTIONS } from "./validators.js";
import { webhookUrlIssues } from "./webhooks/webhook-url.js";

/** The fields of `source` named in `fields` (what an item or a job's options keep of a request). */
function pick(source: JsonObject, fields: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) if (source[f] !== undefined) out[f] = source[f];
  return out;
}

/**
 * A kind's submit route body (already valid against its schema) as the queue's submit: the webhook URL and
 * the kind's own item checks (a 422), the items and options the request names. One place for the kind's
 * routes and the steps of a workflow.
 */
export function kindSubmitInput(
  queue: JobQueue,
  kind: JobKind,
  route: SubmitRoute,
  body: JsonObject,
  idempotency?: Idempotency | undefined,
): SubmitInput {
  const raw = (body[route.itemsField] ?? []) as JsonObject[];
  const issues = [...webhookUrlIssues(body.webhook_url), ...kindItemIssues(kind, raw, route.itemsField)];
  if (issues.length > 0) throw new InvalidInputError(issues.slice(0, 100));
  const items = raw.map((item) => pick(item, Object.keys(kind.item.properties)));
  return {
    type: kind.type,
    items,
    options: pick(body, Object.keys(kind.options.properties)),
    chunkSize: body.chunk_size as number,
    parallel: body.parallel as number,
    priority: body.priority as number,
    metadata: withWebhook({ [route.totalKey]: items.length }, body.webhook_url),
    itemsField: route.itemsField,
    idempotency,
    runAt: runAtOf(body, queue.nowSeconds()),
    retry: retryOf(body),
    ...dependenciesOf(body),
  };
}

const ajv = new Ajv(BODY_AJV_OPTIONS);
const checks = new WeakMap<JobKind, { full: ValidateFunction; withoutItems: ValidateFunction }>();

/**
 * A kind's submit body checked against its route's schema, as the route checks it (defaults filled in
 * place); `withoutItems`: its items field left out (a workflow step whose items an earlier step makes).
 */
export function routeBodyIssues(
  kind: JobKind,
  route: SubmitRoute,
  body: JsonObject,
  withoutItems: boolean,
): FieldIssue[] {
  let c = checks.get(kind);
  if (!c) {
    const schema: TObject = submitBody(kind, route);
    const { [route.itemsField]: _, ...rest } = schema.properties;
    c = {
      full: ajv.compile(schema),
      withoutItems: ajv.compile(Type.Object(rest, { additionalProperties: false })),
    };
    checks.set(kind, c);
  }
  const check = withoutItems ? c.withoutItems : c.full;
  if (check(body)) return [];
  return (check.errors ?? []).map((e) => ajvIssue(e, "body"));
}

const genericCheck = ajv.compile(GenericJobBody);

/** A `POST /batch/jobs` body checked against its schema, as that route checks it (defaults filled in place). */
export function genericBodyIssues(body: JsonObject): FieldIssue[] {
  if (genericCheck(body)) return [];
  return (genericCheck.errors ?? []).map((e) => ajvIssue(e, "body"));
}
