/**
 * The OpenAPI document as a client generator wants it, made from what the routes declare (nothing is written
 * twice): every schema with a `title` becomes a named entry of `components.schemas`, referenced where it was;
 * in requests, a field with a default is optional (the server fills it in). A titled request body is a named
 * entry of `components.requestBodies` instead: generators that make a defaulted field required in what they
 * read (openapi-typescript does, in `components.schemas`) leave it optional in what a client sends.
 */

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keywords whose values are data, not schemas: never looked into. */
const DATA_KEYWORDS = new Set(["default", "examples", "example", "const", "enum"]);

/** One section of `components` (schemas, requestBodies): named entries, each name for one shape only. */
class Section {
  readonly entries: Record<string, Node> = {};
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly section: string,
    existing: unknown,
  ) {
    for (const [name, entry] of Object.entries(isNode(existing) ? existing : {}))
      if (isNode(entry)) this.name(name, entry);
  }

  /** `entry` as a reference to its named component, or itself where its name is taken by another shape. */
  name(title: string, entry: Node): Node {
    const text = JSON.stringify(entry);
    const known = this.texts.get(title);
    if (known !== undefined && known !== text) return entry;
    this.texts.set(title, text);
    this.entries[title] = entry;
    return { $ref: `#/components/${this.section}/${encodeURIComponent(title)}` };
  }
}

/** A schema with its titled parts named (`top`: the schema itself too). */
function walk(value: unknown, request: boolean, components: Section, top = true): unknown {
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
  return top && typeof out.title === "string" ? components.name(out.title, out) : out;
}

/** A response's schemas, named. */
function responseSchemas(response: unknown, schemas: Section): void {
  if (!isNode(response) || !isNode(response.content)) return;
  for (const media of Object.values(response.content))
    if (isNode(media) && media.schema !== undefined) media.schema = walk(media.schema, false, schemas);
}

/**
 * A request body, named after its schema's title (its parts in `schemas`). A body none of whose fields is
 * required may be left out (such routes take no body: `config: { bodyOptional: true }`, e.g. retry).
 */
function requestBody(body: unknown, schemas: Section, bodies: Section): unknown {
  if (!isNode(body) || !isNode(body.content)) return body;
  let title: string | undefined;
  let optional = true;
  for (const media of Object.values(body.content)) {
    if (!isNode(media) || !isNode(media.schema)) continue;
    if (typeof media.schema.title === "string") title = media.schema.title;
    if (Array.isArray(media.schema.required) && media.schema.required.length > 0) optional = false;
    media.schema = walk(media.schema, true, schemas, false);
  }
  if (optional) body.required = false;
  return title === undefined ? body : bodies.name(title, body);
}

/** What @fastify/swagger's `transformObject` is given: the document it built. */
export function clientDocument<T extends object>(document: T): T {
  const doc = structuredClone(document) as Node;
  const given = isNode(doc.components) ? doc.components : {};
  const schemas = new Section("schemas", given.schemas);
  const bodies = new Section("requestBodies", given.requestBodies);
  for (const path of Object.values(isNode(doc.paths) ? doc.paths : {})) {
    if (!isNode(path)) continue;
    for (const op of Object.values(path)) {
      if (!isNode(op)) continue;
      if (op.requestBody !== undefined) op.requestBody = requestBody(op.requestBody, schemas, bodies);
      for (const response of Object.values(isNode(op.responses) ? op.responses : {}))
        responseSchemas(response, schemas);
      if (Array.isArray(op.parameters))
        for (const p of op.parameters)
          if (isNode(p) && isNode(p.schema) && "default" in p.schema && p.in !== "path") p.required = false;
    }
  }
  doc.components = { ...given, schemas: schemas.entries, requestBodies: bodies.entries };
  return doc as T;
}
