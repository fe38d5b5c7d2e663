import type { TObject, TSchema } from "typebox";
import type { JobKind } from "../queue/job-kind.js";
import type { DashboardKind, FormField } from "../web/dashboard-config.js";

type Schema = TSchema & {
  type?: string;
  anyOf?: Schema[];
  const?: unknown;
  default?: unknown;
  description?: string;
};

/** Which input a schema asks for: a choice of constants, a primitive, or JSON for anything else. */
function inputOf(schema: Schema, name: string): Pick<FormField, "input" | "choices"> {
  const variants = (schema.anyOf ?? [schema]).filter((s) => s.type !== "null");
  if (variants.length > 0 && variants.every((s) => s.const !== undefined))
    return { input: "choice", choices: variants.map((s) => String(s.const)) };
  const only = variants.length === 1 ? variants[0] : undefined;
  switch (only?.type) {
    case "string":
      return { input: name === "content" || name === "description" ? "text" : "string" };
    case "integer":
      return { input: "integer" };
    case "number":
      return { input: "number" };
    case "boolean":
      return { input: "boolean" };
    default:
      return { input: "json" };
  }
}

/** The inputs of an object schema, in its own order. */
export function formFields(object: TObject): FormField[] {
  const required = new Set<string>((object.required as string[] | undefined) ?? []);
  return Object.entries(object.properties as Record<string, Schema>).map(([name, schema]) => ({
    name,
    ...inputOf(schema, name),
    // A field with a default is required in the schema but may be left out of a request.
    required: required.has(name) && schema.default === undefined,
    ...(schema.default !== undefined ? { default: schema.default } : {}),
    ...(schema.description ? { description: schema.description } : {}),
  }));
}

/** The kinds a person can submit from the dashboard: those with a submit route, with their forms. */
export function dashboardKinds(kinds: readonly JobKind[]): DashboardKind[] {
  return kinds.flatMap((kind) => {
    const submit = kind.submit;
    if (!submit) return [];
    const batch: FormField[] = [
      { name: "chunk_size", input: "integer", required: false, default: submit.chunkSize },
      { name: "parallel", input: "integer", required: false, default: submit.parallel },
    ];
    return [
      {
        type: kind.type,
        title: submit.cliName,
        summary: submit.summary,
        path: submit.path,
        itemsField: submit.itemsField,
        item: formFields(kind.item),
        options: [...formFields(kind.options), ...batch],
      },
    ];
  });
}
