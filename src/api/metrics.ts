import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobQueue } from "../queue/job-queue.js";
import type { ModelCallObservation } from "../util/telemetry.js";

export type { ModelCallObservation };

/** Prometheus metrics of one process (its own registry). */
export class Metrics {
  readonly registry = new Registry();
  private readonly items: Counter<"type" | "status">;
  private readonly itemSeconds: Histogram<"type">;
  private readonly modelSeconds: Histogram<"model" | "outcome">;
  private readonly tokens: Counter<"model" | "kind">;
  private readonly cacheHits: Counter<"type">;

  constructor(queue: JobQueue, busyWorkers: () => number) {
    const events = queue.events;
    const registry = this.registry;
    new Gauge({
      name: "ollama_coder_jobs",
      help: "Jobs by status",
      labelNames: ["status"],
      registers: [registry],
      async collect() {
        const { total: _total, ...byStatus } = await queue.stats();
        for (const [status, n] of Object.entries(byStatus)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: "ollama_coder_queue_depth",
      help: "Items waiting to run, all jobs together",
      registers: [registry],
      async collect() {
        this.set(await queue.queueDepth());
      },
    });
    new Gauge({
      name: "ollama_coder_busy_workers",
      help: "Jobs this process is running now",
      registers: [registry],
      collect() {
        this.set(busyWorkers());
      },
    });
    this.items = new Counter({
      name: "ollama_coder_items_total",
      help: "Items finished by this process, by job type and outcome",
      labelNames: ["type", "status"],
      registers: [registry],
    });
    this.itemSeconds = new Histogram({
      name: "ollama_coder_item_duration_seconds",
      help: "How long items ran, by job type",
      labelNames: ["type"],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: [registry],
    });
    this.modelSeconds = new Histogram({
      name: "ollama_coder_model_request_duration_seconds",
      help: "Ollama /api/chat requests, by model and outcome",
      labelNames: ["model", "outcome"],
      buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.tokens = new Counter({
      name: "ollama_coder_model_tokens_total",
      help: "Tokens by model: prompt (prompt_eval_count) and completion (eval_count)",
      labelNames: ["model", "kind"],
      registers: [registry],
    });
    this.cacheHits = new Counter({
      name: "ollama_coder_cache_hits_total",
      help: "Items this process answered from the result cache, by job type",
      labelNames: ["type"],
      registers: [registry],
    });
    // Label children are cached: this runs once per item, on the hot path.
    const counters = new Map<string, ReturnType<typeof this.items.labels>>();
    const histograms = new Map<string, ReturnType<typeof this.itemSeconds.labels>>();
    events.on("item:completed", (e) => {
      const key = `${e.jobType}\u0000${e.status}`;
      let counter = counters.get(key);
      if (!counter) {
        counter = this.items.labels({ type: e.jobType, status: e.status });
        counters.set(key, counter);
      }
      counter.inc();
      if (e.cached) this.cacheHits.inc({ type: e.jobType });
      if (e.durationSeconds === undefined) return;
      let histogram = histograms.get(e.jobType);
      if (!histogram) {
        histogram = this.itemSeconds.labels({ type: e.jobType });
        histograms.set(e.jobType, histogram);
      }
      histogram.observe(e.durationSeconds);
    });
  }

  observeModelCall(o: ModelCallObservation): void {
    this.modelSeconds.observe({ model: o.model, outcome: o.outcome }, o.seconds);
    if (o.outcome === "ok") {
      this.tokens.inc({ model: o.model, kind: "prompt" }, o.promptTokens);
      this.tokens.inc({ model: o.model, kind: "completion" }, o.completionTokens);
    }
  }
}
