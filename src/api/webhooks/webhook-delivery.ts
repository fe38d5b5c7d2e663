import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { JsonObject } from "../../domain/json.js";
import type { JobRecord } from "../../domain/records.js";
import { FINAL_JOB_STATUSES } from "../../domain/statuses.js";
import { errorMessage } from "../../errors.js";
import type { QueueEvents } from "../../queue/events.js";
import type { JobQueue } from "../../queue/job-queue.js";
import type { WebhookState } from "../../queue/webhook-state.js";
import type { Logger } from "../../util/logger.js";
import { jobAnswerJson } from "../job-answer-stream.js";
import { EVENT_HEADER, SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from "./webhook-signature.js";

export interface WebhookOptions {
  /** Key of the signature; null sends deliveries unsigned. */
  secret: string | null;
  /** Tries in all (the first and the retries), then the delivery is given up (`state: "failed"`). */
  maxAttempts: number;
  /** Wait before the first retry, doubled for each next one up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** One try's time limit (connect, send, answer). */
  timeoutMs: number;
  /** How often ended jobs with a due delivery are looked for (after a restart, retries another process left). */
  sweepMs: number;
  /** The largest answer sent whole; a larger one goes without its results (they stay at results_url). */
  maxBodyBytes: number;
  log: Logger;
}

export const WEBHOOK_DEFAULTS = {
  maxAttempts: 8,
  baseDelayMs: 2000,
  maxDelayMs: 5 * 60_000,
  timeoutMs: 10_000,
  sweepMs: 15_000,
  maxBodyBytes: 8 * 1024 * 1024,
} as const;

/** A cancelled job's answer waits up to SETTLE_WAITS × SETTLE_WAIT_MS for its running items to stop. */
const SETTLE_WAITS = 20;
const SETTLE_WAIT_MS = 250;

/**
 * Delivers each ended job's final answer (the JSON of GET /batch/jobs/{id}) to its `webhook_url`: signed,
 * retried with exponential backoff on a network error or a non-2xx answer, recorded in `metadata.webhook`.
 * The state lives in the store, so a delivery a stopped process owed is made by the next one (every process
 * with a dispatcher sweeps for due deliveries); a lease in the store keeps two processes from sending the same
 * try. Delivery never touches the job's own status.
 */
export class WebhookDispatcher {
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();
  /** Times a just-cancelled job's delivery waited for its running items to stop. */
  private readonly settleWaits = new Map<string, number>();
  private off: (() => void) | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly events: QueueEvents,
    private readonly o: WebhookOptions,
  ) {}

  start(): void {
    this.off = this.events.on("job:finished", ({ jobId }) => this.deliver(jobId));
    this.sweeper = setInterval(() => void this.sweep(), this.o.sweepMs);
    this.sweeper.unref();
    void this.sweep();
  }

  /** Stops sending: waits for the tries under way (each within its time limit). */
  async stop(): Promise<void> {
    this.off?.();
    if (this.sweeper) clearInterval(this.sweeper);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.controller.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Looks for due deliveries (ended while no process was delivering, retries come due). */
  async sweep(): Promise<void> {
    if (this.controller.signal.aborted) return;
    try {
      for (const id of await this.queue.dueWebhooks(100)) this.deliver(id);
    } catch (e: unknown) {
      this.o.log.warn(`webhooks: cannot look for due deliveries: ${errorMessage(e)}`);
    }
  }

  private deliver(jobId: string): void {
    if (this.controller.signal.aborted || this.inFlight.has(jobId)) return;
    const run = this.attempt(jobId)
      .catch((e: unknown) => this.o.log.warn(`webhook of job ${jobId}: ${errorMessage(e)}`))
      .finally(() => this.inFlight.delete(jobId));
    this.inFlight.set(jobId, run);
  }

  private async attempt(jobId: string): Promise<void> {
    const leaseSeconds = (this.o.timeoutMs + 5000) / 1000;
    if (!(await this.queue.claimWebhook(jobId, this.owner, leaseSeconds))) return;
    const job = await this.queue.get(jobId);
    const state = job.metadata.webhook as WebhookState | undefined;
    if (!state || !FINAL_JOB_STATUSES.includes(job.status)) return;
    const settled = job.succeeded + job.failed + job.skipped + job.cancelled;
    const waited = this.settleWaits.get(jobId) ?? 0;
    if (job.status === "cancelled" && settled < job.total && waited < SETTLE_WAITS) {
      // Just cancelled: its running items are still being stopped. Their outcomes belong in the answer.
      this.settleWaits.set(jobId, waited + 1);
      await this.queue.recordWebhook(jobId, { ...state, lease_until: 0 });
      this.later(jobId, SETTLE_WAIT_MS);
      return;
    }
    this.settleWaits.delete(jobId);
    const attempts = state.attempts + 1;
    // A body that cannot be made counts as a try (and so ends, after the last one) like one that cannot be sent.
    const outcome = await this.answerOf(job).then(
      (body) => this.post(state.url, job.status, body),
      (e: unknown) =>
        ({ error: `the answer could not be made: ${errorMessage(e)}` }) as {
          status?: number;
          error?: string;
        },
    );
    const next: JsonObject = { ...state, attempts, lease_until: 0 };
    if (outcome.status !== undefined) next.last_status = outcome.status;
    if (outcome.error === undefined) {
      next.state = "delivered";
      next.delivered_at = this.queue.nowSeconds();
      await this.queue.recordWebhook(jobId, next);
      return;
    }
    next.error = outcome.error;
    if (attempts >= this.o.maxAttempts || this.controller.signal.aborted) {
      if (attempts >= this.o.maxAttempts) next.state = "failed";
      await this.queue.recordWebhook(jobId, next);
      if (next.state === "failed")
        this.o.log.warn(`webhook of job ${jobId}: given up after ${attempts} tries: ${outcome.error}`);
      return;
    }
    const delayMs = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempts - 1));
    next.next_attempt_at = this.queue.nowSeconds() + delayMs / 1000;
    await this.queue.recordWebhook(jobId, next);
    this.later(jobId, delayMs);
  }

  /**
   * The job's final answer, as `GET /batch/jobs/{id}` gives it, up to maxBodyBytes; a larger one (a job of
   * many or big results) is sent without its entries, saying where to read them, rather than held whole in
   * memory for every try.
   */
  private async answerOf(job: JobRecord): Promise<string> {
    let body = "";
    for await (const piece of jobAnswerJson(this.queue, job, this.queue.nowSeconds(), true)) {
      body += piece;
      if (body.length > this.o.maxBodyBytes) {
        body = "";
        let small = "";
        for await (const part of jobAnswerJson(this.queue, job, this.queue.nowSeconds(), false))
          small += part;
        const answer = JSON.parse(small) as JsonObject;
        answer.results_omitted = {
          reason: `the answer with its results is larger than ${this.o.maxBodyBytes} bytes`,
          results_url: `/batch/jobs/${encodeURIComponent(job.id)}/results.jsonl`,
        };
        return JSON.stringify(answer);
      }
    }
    return body;
  }

  private later(jobId: string, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.deliver(jobId);
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  /** One POST: never follows a redirect, gives up at the time limit. */
  private async post(
    url: string,
    status: string,
    body: string,
  ): Promise<{ status?: number; error?: string }> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "ollama-coder-webhook",
      [EVENT_HEADER]: `job.${status}`,
      [TIMESTAMP_HEADER]: timestamp,
    };
    if (this.o.secret) headers[SIGNATURE_HEADER] = signBody(this.o.secret, timestamp, body);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.controller.signal]),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { status: res.status };
      if (res.status >= 300 && res.status < 400)
        return { status: res.status, error: `HTTP ${res.status}: redirects are not followed` };
      return { status: res.status, error: `HTTP ${res.status}` };
    } catch (e: unknown) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if ((e as Error).name === "TimeoutError")
        return { error: `no answer within ${this.o.timeoutMs / 1000} s` };
      return { error: cause?.code ?? cause?.message ?? errorMessage(e) };
    }
  }
}
