/**
 * The OpenAPI document as a client generator wants it, made from what the routes declare (nothing is written
 * twice): every schema with a `title` becomes a named entry of `components.schemas`, referenced where it was;
 * in requests, a field with a default is optional (the server fills it in).
 */

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keywords whose values are data, not schemas: never looked into. */
const DATA_KEYWORDS = new Set(["default", "examples", "example", "const", "enum"]);

class Components {
  readonly schemas: Record<string, Node> = {};
  private readonly texts = new Map<string, string>();

  constructor(existing: Record<string, Node>) {
    for (const [name, schema] of Object.entries(existing)) {
      this.schemas[name] = schema;
      this.texts.set(name, JSON.stringify(schema));
    }
  }

  /** `schema` as a reference to its named component, or itself where its name is taken by another shape. */
  name(title: string, schema: Node): Node {
    const text = JSON.stringify(schema);
    const known = this.texts.get(title);
    if (known !== undefined && known !== text) return schema;
    this.texts.set(title, text);
    this.schemas[title] = schema;
    return { $ref: `#/components/schemas/${encodeURIComponent(title)}` };
  }
}

function walk(value: unknown, request: boolean, components: Components): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(v, request, components));
  if (!isNode(value)) return value;
  const out: Node = {};
  for (const [key, v] of Object.entries(value))
    out[key] = DATA_KEYWORDS.has(key) ? v : walk(v, request, components);
  if (request && isNode(out.properties) && Array.isArray(out.required)) {
    const props = out.properties;
    const required = out.required.filter((k) => !(isNode(props[k]) && "default" in (props[k] as Node)));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return typeof out.title === "string" ? components.name(out.title, out) : out;
}

function schemaOf(holder: unknown, request: boolean, components: Components): void {
  if (!isNode(holder) || !isNode(holder.content)) return;
  for (const media of Object.values(holder.content))
    if (isNode(media) && media.schema !== undefined) media.schema = walk(media.schema, request, components);
}

/** What @fastify/swagger's `transformObject` is given: the document it built. */
export function clientDocument<T extends object>(document: T): T {
  const doc = structuredClone(document) as Node;
  const existing = isNode(doc.components) && isNode(doc.components.schemas) ? doc.components.schemas : {};
  const components = new Components(existing as Record<string, Node>);
  for (const path of Object.values(isNode(doc.paths) ? doc.paths : {})) {
    if (!isNode(path)) continue;
    for (const op of Object.values(path)) {
      if (!isNode(op)) continue;
      schemaOf(op.requestBody, true, components);
      for (const response of Object.values(isNode(op.responses) ? op.responses : {}))
        schemaOf(response, false, components);
      if (Array.isArray(op.parameters))
        for (const p of op.parameters)
          if (isNode(p) && isNode(p.schema) && "default" in p.schema && p.in !== "path") p.required = false;
    }
  }
  doc.components = { ...(isNode(doc.components) ? doc.components : {}), schemas: components.schemas };
  return doc as T;
}
