import { errorMessage, isAbortError } from "../errors.js";
import type { ModelCallObservation } from "../util/telemetry.js";
import { type Host, HostPool, normalizeModel } from "./host-pool.js";
import { type HttpAnswer, httpRequest } from "./http-request.js";
import { modelMissing, OllamaError, unreachable } from "./ollama-errors.js";
import type { ChatRequest, ChatResult, OllamaToolCall } from "./ollama-types.js";

export interface OllamaClientOptions {
  /** One or more base URLs. */
  urls: readonly string[];
  /** Requests in flight per host, shared by every job (default 4). */
  maxConcurrencyPerHost: number;
  /** Retries of a 503 "busy" answer, with exponential backoff and jitter. */
  busyRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Told of every /api/chat request (for metrics). */
  observe?: (o: ModelCallObservation) => void;
}

export const OLLAMA_CLIENT_DEFAULTS = {
  maxConcurrencyPerHost: 4,
  busyRetries: 6,
  backoffBaseMs: 250,
  backoffMaxMs: 8_000,
} satisfies Omit<OllamaClientOptions, "urls">;

/** Parses "url1,url2" into base URLs. */
export function parseOllamaUrls(value: string): string[] {
  return value
    .split(",")
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter(Boolean);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function connectionCause(e: unknown): string | null {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = (e as { code?: string }).code ?? cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "ECONNRESET" || code === "EPIPE") return "connection reset";
  if (code === "ETIMEDOUT" || code === "EHOSTUNREACH" || code === "ENETUNREACH")
    return "connection timed out";
  return null;
}

interface Accumulated {
  content: string;
  tool_calls: OllamaToolCall[];
  model: string;
  prompt_eval_count: number;
  eval_count: number;
  total_duration: number;
}

function absorb(acc: Accumulated, chunk: Record<string, unknown>, url: string): void {
  if (typeof chunk.error === "string")
    throw new OllamaError("stream", `Ollama at ${url} reported: ${chunk.error}`);
  const message = chunk.message as { content?: string; tool_calls?: OllamaToolCall[] } | undefined;
  if (message?.content) acc.content += message.content;
  if (Array.isArray(message?.tool_calls)) acc.tool_calls.push(...message.tool_calls);
  if (typeof chunk.model === "string") acc.model = chunk.model;
  if (typeof chunk.prompt_eval_count === "number") acc.prompt_eval_count = chunk.prompt_eval_count;
  if (typeof chunk.eval_count === "number") acc.eval_count = chunk.eval_count;
  if (typeof chunk.total_duration === "number") acc.total_duration = chunk.total_duration;
}

/**
 * A thin Ollama client on Node's http client: every request carries its own AbortSignal, streams NDJSON (or not),
 * spreads load over several hosts with a per-host limit, and retries 503 "busy" with backoff.
 */
/** One Ollama host as it answered a look at /api/tags (/ready, the model check at submit). */
export interface OllamaHostStatus {
  url: string;
  reachable: boolean;
  /** Its models as Ollama names them (`llama3.2:latest`). */
  models: string[];
  latency_ms: number;
  error?: string;
}

const HOST_PROBE_TIMEOUT_MS = 3000;
const HOST_STATUS_MAX_AGE_MS = 2000;

/** Whether a model (`llama3.2` or `llama3.2:latest`) is among a host's. */
export function hostHasModel(host: OllamaHostStatus, model: string): boolean {
  const m = normalizeModel(model);
  return host.models.some((name) => normalizeModel(name) === m);
}

export class OllamaClient {
  readonly pool: HostPool;
  private readonly o: OllamaClientOptions;

  constructor(options: Partial<OllamaClientOptions> & { urls: readonly string[] }) {
    this.o = { ...OLLAMA_CLIENT_DEFAULTS, ...options };
    this.pool = new HostPool(this.o.urls, this.o.maxConcurrencyPerHost);
  }

  get urls(): string[] {
    return this.pool.hosts.map((h) => h.url);
  }

  private statusCache: { at: number; hosts: Promise<OllamaHostStatus[]> } | null = null;

  /**
   * Each host as it answers now: reachable or not (within a few seconds), its models, how long /api/tags
   * took. Answers from the last few seconds are reused (a load balancer polling /ready, a burst of submits).
   */
  hostStatus(maxAgeMs = HOST_STATUS_MAX_AGE_MS): Promise<OllamaHostStatus[]> {
    const now = performance.now();
    if (this.statusCache && now - this.statusCache.at < maxAgeMs) return this.statusCache.hosts;
    const hosts = Promise.all(this.pool.hosts.map((host) => this.probe(host)));
    this.statusCache = { at: now, hosts };
    return hosts;
  }

  private async probe(host: Host): Promise<OllamaHostStatus> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    try {
      const res = await httpRequest(`${host.url}/api/tags`, {
        signal: AbortSignal.timeout(HOST_PROBE_TIMEOUT_MS),
      });
      if (!res.ok) {
        res.discard();
        return {
          url: host.url,
          reachable: false,
          models: [],
          latency_ms: latency(),
          error: `HTTP ${res.status}`,
        };
      }
      const body = (await res.json()) as { models?: { name?: string; model?: string }[] };
      const models = (body.models ?? []).map((m) => m.name ?? m.model ?? "").filter(Boolean);
      host.models = new Set(models.map(normalizeModel));
      return { url: host.url, reachable: true, models: models.sort(), latency_ms: latency() };
    } catch (e: unknown) {
      const error = isAbortError(e)
        ? `no answer within ${HOST_PROBE_TIMEOUT_MS / 1000} s`
        : (connectionCause(e) ?? errorMessage(e));
      return { url: host.url, reachable: false, models: [], latency_ms: latency(), error };
    }
  }

  /** Lists each host's models (GET /api/tags); unreachable hosts are reported by URL. */
  async refreshModels(signal?: AbortSignal): Promise<void> {
    const failures: OllamaError[] = [];
    await Promise.all(
      this.pool.hosts.map(async (host) => {
        try {
          const res = await httpRequest(`${host.url}/api/tags`, { signal });
          if (!res.ok) {
            res.discard();
            throw new OllamaError(
              "http",
              `Ollama at ${host.url} answered ${res.status} to /api/tags`,
              res.status,
            );
          }
          const body = (await res.json()) as { models?: { name?: string; model?: string }[] };
          host.models = new Set((body.models ?? []).map((m) => normalizeModel(m.name ?? m.model ?? "")));
        } catch (e: unknown) {
          if (isAbortError(e)) throw e;
          host.models = new Set();
          const cause = connectionCause(e);
          failures.push(
            cause
              ? unreachable(host.url, cause)
              : e instanceof OllamaError
                ? e
                : unreachable(host.url, errorMessage(e)),
          );
        }
      }),
    );
    if (failures.length === this.pool.hosts.length) throw failures[0]!;
  }

  /** Fails at once, naming the URL(s) and the fix, when a model is on no host. */
  async ensureModels(models: readonly string[], signal?: AbortSignal): Promise<void> {
    await this.refreshModels(signal);
    for (const model of models) {
      const m = normalizeModel(model);
      if (!this.pool.hosts.some((h) => h.models?.has(m))) throw modelMissing(model, this.urls);
    }
  }

  async chat(req: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const host = await this.pool.acquire(req.model, signal);
      const t0 = performance.now();
      try {
        const result = await this.chatOnce(host, req, signal);
        this.o.observe?.({
          model: req.model,
          host: host.url,
          seconds: (performance.now() - t0) / 1000,
          promptTokens: result.prompt_eval_count,
          completionTokens: result.eval_count,
          outcome: "ok",
        });
        return { ...result, wall_seconds: (performance.now() - started) / 1000 };
      } catch (e: unknown) {
        const seconds = (performance.now() - t0) / 1000;
        this.o.observe?.({
          model: req.model,
          host: host.url,
          seconds,
          promptTokens: 0,
          completionTokens: 0,
          outcome: "error",
        });
        if (!(e instanceof OllamaError && e.kind === "busy" && attempt < this.o.busyRetries)) throw e;
      } finally {
        this.pool.release(host);
      }
      const backoff = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** attempt);
      await sleep(backoff / 2 + Math.random() * (backoff / 2), signal);
    }
  }

  private async chatOnce(
    host: Host,
    req: ChatRequest,
    signal?: AbortSignal,
  ): Promise<Omit<ChatResult, "wall_seconds">> {
    const stream = req.stream ?? true;
    let res: HttpAnswer;
    try {
      res = await httpRequest(`${host.url}/api/chat`, { json: { ...req, stream }, signal });
    } catch (e: unknown) {
      if (isAbortError(e) || signal?.aborted) throw e;
      const cause = connectionCause(e);
      throw cause ? unreachable(host.url, cause) : e;
    }
    try {
      if (res.status === 503 || res.status === 429) {
        res.discard();
        throw new OllamaError("busy", `Ollama at ${host.url} is busy (${res.status})`, res.status);
      }
      if (!res.ok) {
        const text = await res.text();
        let detail = text;
        try {
          detail = (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {
          /* not JSON */
        }
        if (res.status === 404 && /not found/i.test(detail)) throw modelMissing(req.model, [host.url]);
        throw new OllamaError(
          "http",
          `Ollama at ${host.url} answered ${res.status}: ${detail.slice(0, 500)}`,
          res.status,
        );
      }
      const acc: Accumulated = {
        content: "",
        tool_calls: [],
        model: req.model,
        prompt_eval_count: 0,
        eval_count: 0,
        total_duration: 0,
      };
      if (!stream) absorb(acc, (await res.json()) as Record<string, unknown>, host.url);
      else await this.readStream(res, acc, host.url);
      return {
        model: acc.model,
        message: { role: "assistant", content: acc.content, tool_calls: acc.tool_calls },
        prompt_eval_count: acc.prompt_eval_count,
        eval_count: acc.eval_count,
        total_duration_seconds: acc.total_duration / 1e9,
        host: host.url,
      };
    } catch (e: unknown) {
      res.body.destroy();
      throw e;
    }
  }

  private async readStream(res: HttpAnswer, acc: Accumulated, url: string): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    const handle = (line: string) => {
      const trimmed = line.trim();
      if (!trimmed) return;
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(trimmed) as Record<string, unknown>;
      } catch {
        throw new OllamaError(
          "stream",
          `Ollama at ${url} sent a line that is not JSON: ${trimmed.slice(0, 200)}`,
        );
      }
      absorb(acc, chunk, url);
    };
    for await (const part of res.body as AsyncIterable<Buffer>) {
      buffer += decoder.decode(part, { stream: true });
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        handle(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
      }
    }
    handle(buffer + decoder.decode());
  }
}
