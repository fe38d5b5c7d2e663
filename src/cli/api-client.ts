/** A small client of the REST API for the CLI. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** An error answer as a message: FastAPI's `detail` (a string, or the list of a 422), else the text. */
function apiError(status: number, text: string): ApiError {
  let detail: unknown;
  try {
    detail = (JSON.parse(text) as { detail?: unknown })?.detail;
  } catch {
    /* plain text */
  }
  const message =
    typeof detail === "string"
      ? detail
      : Array.isArray(detail)
        ? detail
            .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg}`)
            .join("; ")
        : text.slice(0, 500);
  return new ApiError(status, `${status}: ${message}`);
}

export interface ClientOptions {
  server: string;
  apiKey?: string | undefined;
}

export class ApiClient {
  readonly server: string;
  constructor(private readonly o: ClientOptions) {
    this.server = o.server.replace(/\/+$/, "");
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}), ...extra };
  }

  /** fetch, with a connection failure said as what to do about it. */
  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(this.server + path, init);
    } catch (e: unknown) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw new ApiError(
        0,
        `cannot reach ${this.server}${cause ? ` (${cause})` : ""}; is \`ollama-coder serve\` running? (--server, OLLAMA_CODER_URL)`,
      );
    }
  }

  /** A POST always says it is JSON: the server refuses a body-less POST without that (or a key). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const json = body !== undefined || method === "POST";
    const res = await this.send(path, {
      method,
      headers: this.headers(json ? { "content-type": "application/json" } : {}),
      ...(json ? { body: JSON.stringify(body ?? {}) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw apiError(res.status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** The body of a streamed answer, cut at each `separator`, as it arrives; `rest`: also what ends it. */
  private async *pieces(path: string, separator: string, rest: boolean): AsyncGenerator<string> {
    const res = await this.send(path, { headers: this.headers() });
    if (!res.ok || !res.body) throw apiError(res.status, await res.text());
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let i = buffer.indexOf(separator);
      while (i >= 0) {
        yield buffer.slice(0, i);
        buffer = buffer.slice(i + separator.length);
        i = buffer.indexOf(separator);
      }
    }
    buffer += decoder.decode();
    if (rest && buffer !== "") yield buffer;
  }

  /** The lines of a text answer (a JSON-lines export), blank ones left out. */
  async *lines(path: string): AsyncGenerator<string> {
    for await (const line of this.pieces(path, "\n", true)) if (line.trim() !== "") yield line;
  }

  /** Server-Sent Events of one job, until its final event; yields each event. */
  async *events(path: string): AsyncGenerator<{ event: string; data: unknown }> {
    for await (const block of this.pieces(path, "\n\n", false)) {
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}
