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

  /** A POST always says it is JSON: the server refuses a body-less POST without that (or a key). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const json = body !== undefined || method === "POST";
    let res: Response;
    try {
      res = await fetch(this.server + path, {
        method,
        headers: this.headers(json ? { "content-type": "application/json" } : {}),
        ...(json ? { body: JSON.stringify(body ?? {}) } : {}),
      });
    } catch (e: unknown) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      throw new ApiError(
        0,
        `cannot reach ${this.server}${cause ? ` (${cause})` : ""}; is \`ollama-coder serve\` running? (--server, OLLAMA_CODER_URL)`,
      );
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* plain text */
    }
    if (!res.ok) {
      const detail = (parsed as { detail?: unknown })?.detail;
      const message =
        typeof detail === "string"
          ? detail
          : Array.isArray(detail)
            ? detail
                .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg}`)
                .join("; ")
            : text.slice(0, 500);
      throw new ApiError(res.status, `${res.status}: ${message}`);
    }
    return parsed as T;
  }

  /** Server-Sent Events of one job, until its final event; yields each event. */
  async *events(path: string): AsyncGenerator<{ event: string; data: unknown }> {
    const res = await fetch(this.server + path, { headers: this.headers() });
    if (!res.ok || !res.body) throw new ApiError(res.status, `${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let i = buffer.indexOf("\n\n");
      while (i >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (data) yield { event, data: JSON.parse(data) };
        i = buffer.indexOf("\n\n");
      }
    }
  }
}
