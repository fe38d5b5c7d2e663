import { Ajv } from "ajv";
import type { FastifyInstance } from "fastify";

/**
 * Bodies are validated strictly (a number is not a string, as in pydantic), while query strings and path
 * parameters are coerced from text. Both fill defaults and report every problem at once.
 */
const common = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;

/**
 * How request bodies are checked (also what the generic submit checks a declared kind's items with).
 * `verbose` hands an unknown field's error the schema of its object, whose fields the 422 suggests from.
 */
export const BODY_AJV_OPTIONS = { ...common, coerceTypes: false, verbose: true } as const;

export function installValidators(app: FastifyInstance): void {
  const bodyAjv = new Ajv(BODY_AJV_OPTIONS);
  const textAjv = new Ajv({ ...common, coerceTypes: "array" });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? bodyAjv : textAjv).compile(schema),
  );
}
