import { Ajv } from "ajv";
import type { FastifyInstance } from "fastify";

/**
 * Bodies are validated strictly (a number is not a string, as in pydantic), while query strings and path
 * parameters are coerced from text. Both fill defaults and report every problem at once.
 */
export function installValidators(app: FastifyInstance): void {
  const common = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false } as const;
  const bodyAjv = new Ajv({ ...common, coerceTypes: false });
  const textAjv = new Ajv({ ...common, coerceTypes: "array" });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === "body" ? bodyAjv : textAjv).compile(schema),
  );
}
