import type { FastifyError, FastifyInstance } from "fastify";
import { CoderError, errorMessage, type FieldIssue, InvalidInputError } from "../errors.js";
import { isTransientStoreError } from "../store/transient-error.js";
import { unknownNameMessage } from "../util/closest-match.js";

/** The one place errors become HTTP answers, in FastAPI's shapes. */
const HTTP_STATUS: Partial<Record<CoderError["code"], number>> = {
  not_found: 404,
  conflict: 400,
  idempotency_conflict: 409,
  already_exists: 409,
  job_state: 409,
  invalid_input: 422,
};

const CONTEXT_LOC: Record<string, string> = {
  body: "body",
  querystring: "query",
  params: "path",
  headers: "header",
};

interface AjvIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  /** The object schema an `additionalProperties` error comes from (ajv's `verbose`): its known fields. */
  parentSchema?: object;
}

/** The field names an object schema declares. */
function declaredFields(schema: object | undefined): string[] {
  const properties = (schema as { properties?: unknown } | undefined)?.properties;
  return properties && typeof properties === "object" ? Object.keys(properties) : [];
}

function pathSegments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function ajvIssue(e: AjvIssue, context: string): FieldIssue {
  const loc: (string | number)[] = [CONTEXT_LOC[context] ?? context, ...pathSegments(e.instancePath)];
  const p = e.params;
  switch (e.keyword) {
    case "additionalProperties": {
      const field = String(p.additionalProperty);
      const msg = unknownNameMessage("field", field, declaredFields(e.parentSchema));
      // A name longer than any field's is named by its start: the answer does not repeat a megabyte back.
      const named = field.length > 100 ? `${field.slice(0, 100)}…` : field;
      return { loc: [...loc, named], msg, type: "extra_forbidden" };
    }
    case "required":
      return { loc: [...loc, String(p.missingProperty)], msg: "Field required", type: "missing" };
    case "type":
      return { loc, msg: `Input should be a valid ${String(p.type)}`, type: `${String(p.type)}_type` };
    case "minLength":
      return {
        loc,
        msg: `String should have at least ${String(p.limit)} character(s)`,
        type: "string_too_short",
      };
    case "maxLength":
      return {
        loc,
        msg: `String should have at most ${String(p.limit)} character(s)`,
        type: "string_too_long",
      };
    case "pattern":
      return {
        loc,
        msg:
          p.pattern === "\\S"
            ? "String should not be blank"
            : `String should match pattern '${String(p.pattern)}'`,
        type: "string_pattern_mismatch",
      };
    case "minimum":
    case "exclusiveMinimum":
      return {
        loc,
        msg: `Input should be greater than ${e.keyword === "minimum" ? "or equal to " : ""}${String(p.limit)}`,
        type: e.keyword === "minimum" ? "greater_than_equal" : "greater_than",
      };
    case "maximum":
      return {
        loc,
        msg: `Input should be less than or equal to ${String(p.limit)}`,
        type: "less_than_equal",
      };
    case "minItems":
      return { loc, msg: `List should have at least ${String(p.limit)} item(s)`, type: "too_short" };
    case "maxItems":
      return { loc, msg: `List should have at most ${String(p.limit)} item(s)`, type: "too_long" };
    case "const":
    case "enum":
      return {
        loc,
        msg: `Input should be ${JSON.stringify(p.allowedValue ?? p.allowedValues)}`,
        type: "literal_error",
      };
    default:
      return { loc, msg: e.message ?? "Invalid value", type: e.keyword };
  }
}

/** anyOf of literals yields one error per branch plus the anyOf itself; keep one clear line per location. */
function mergeIssues(issues: FieldIssue[], schemaErrors: AjvIssue[]): FieldIssue[] {
  const byLoc = new Map<string, FieldIssue>();
  const literalSets = new Map<string, unknown[]>();
  schemaErrors.forEach((e, i) => {
    const issue = issues[i]!;
    const key = JSON.stringify(issue.loc);
    if (e.keyword === "const") {
      const set = literalSets.get(key) ?? [];
      set.push(e.params.allowedValue);
      literalSets.set(key, set);
    }
    if (e.keyword === "anyOf" && byLoc.has(key)) return;
    if (!byLoc.has(key) || byLoc.get(key)?.type === "anyOf" || e.keyword === "const") byLoc.set(key, issue);
  });
  for (const [key, values] of literalSets) {
    const issue = byLoc.get(key);
    if (issue)
      byLoc.set(key, {
        ...issue,
        msg: `Input should be ${values.map((v) => JSON.stringify(v)).join(", ")}`,
        type: "literal_error",
      });
  }
  return [...byLoc.values()].slice(0, 100);
}

export function installErrorHandler(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const errors = error.validation as unknown as AjvIssue[];
      const context = error.validationContext ?? "body";
      // At most the first few hundred problems are worded (only 100 are answered): a body of thousands of
      // unknown fields costs no more than one of a few.
      const worded = errors.slice(0, 300);
      const issues = worded.map((e) => ajvIssue(e, context));
      return reply.status(422).send({ detail: mergeIssues(issues, worded) });
    }
    if (error instanceof InvalidInputError) return reply.status(422).send({ detail: error.issues });
    if (error instanceof CoderError) {
      return reply.status(HTTP_STATUS[error.code] ?? 400).send({ detail: error.message });
    }
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      const mb = maxBodyBytes / (1024 * 1024);
      return reply.status(413).send({
        detail: `Request body is larger than the ${Number(mb.toFixed(3))} MiB limit (raise it with --max-body-mb)`,
      });
    }
    if (
      error instanceof SyntaxError ||
      error.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ||
      error.code === "FST_ERR_CTP_INVALID_JSON_BODY"
    ) {
      return reply.status(422).send({
        detail: [{ loc: ["body"], msg: `JSON decode error: ${error.message}`, type: "json_invalid" }],
      });
    }
    if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      const type = request.headers["content-type"];
      return reply.status(415).send({
        detail: `Unsupported Media Type${type ? ` '${type}'` : " (no Content-Type)"}: send the body as JSON with 'Content-Type: application/json'`,
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.status(status).send({ detail: error.message });
    // The database restarting, unreachable or out of disk passes: say so, and when to try again.
    if (isTransientStoreError(error)) {
      return reply
        .status(503)
        .header("retry-after", "5")
        .send({ detail: `The database is unavailable (${errorMessage(error)}); retry in a few seconds` });
    }
    request.log.error({ err: error }, "unhandled error");
    return reply.status(500).send({ detail: `Internal Server Error: ${errorMessage(error)}` });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ detail: "Not Found" }));
}
