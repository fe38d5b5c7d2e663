import { createHash } from "node:crypto";
import { Type } from "typebox";
import { canonicalJson as canonical } from "../domain/canonical-json.js";
import type { JsonObject } from "../domain/json.js";
import { InvalidInputError } from "../errors.js";
import type { Idempotency } from "../queue/idempotency.js";

/** What a key may be: what clients generate (UUIDs, hashes, "nightly-2026-11-29"), nothing that needs escaping. */
const KEY_PATTERN = "^[\\x21-\\x7e]{1,255}$";
const keyRe = new RegExp(KEY_PATTERN);

/** The body twin of the `Idempotency-Key` header, on every submit route. */
export const IdempotencyKeyField = Type.Optional(
  Type.String({
    pattern: KEY_PATTERN,
    description:
      "Submit at most once: the same key with the same request within 24 hours answers the first job (200); with a different request, 409. Same as the Idempotency-Key header.",
    examples: ["3f2b1c9e-7a4d-4e7b-9a51-0c2d6f1e8b77"],
  }),
);

/**
 * The `Idempotency-Key` header of the submit routes, for the OpenAPI document; its value is checked by
 * idempotencyOf (a clearer 422 than a schema's), so any other header passes.
 */
export const IdempotencyHeaders = Type.Object(
  {
    "idempotency-key": Type.Optional(
      Type.String({
        description:
          "Submit at most once: the same key with the same request within 24 hours answers the first job (200); with a different request, 409. 1 to 255 printable ASCII characters without spaces. Same as the body's idempotency_key.",
        examples: ["3f2b1c9e-7a4d-4e7b-9a51-0c2d6f1e8b77"],
      }),
    ),
  },
  { additionalProperties: true },
);

/**
 * The request's idempotency (header `Idempotency-Key`, or body field `idempotency_key`; both must agree), or
 * undefined. The fingerprint covers the route and the body as validated (defaults filled in), without the key.
 */
export function idempotencyOf(
  route: string,
  header: string | string[] | undefined,
  body: JsonObject,
): Idempotency | undefined {
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const fromBody = typeof body.idempotency_key === "string" ? body.idempotency_key : undefined;
  if (fromHeader !== undefined && !keyRe.test(fromHeader))
    throw new InvalidInputError([
      {
        loc: ["header", "idempotency-key"],
        msg: "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
        type: "value_error.idempotency_key",
      },
    ]);
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody)
    throw new InvalidInputError([
      {
        loc: ["body", "idempotency_key"],
        msg: "idempotency_key differs from the Idempotency-Key header: send one of them",
        type: "value_error.idempotency_key",
      },
    ]);
  const key = fromHeader ?? fromBody;
  if (key === undefined) return undefined;
  const { idempotency_key: _, ...request } = body;
  const fingerprint = createHash("sha256")
    .update(`${route}\n${canonical(request)}`)
    .digest("hex");
  return { key, fingerprint };
}
