import type { JsonObject } from "../domain/json.js";

/** `metadata.webhook` of a job that asked for one: its delivery as far as it went (README: Webhooks). */
export interface WebhookState extends JsonObject {
  url: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
}

/** What a job records of its webhook before it ends (at submit, and for a retry's new job). */
export function newWebhookState(url: string): WebhookState {
  return { url, state: "pending", attempts: 0 };
}

/** A job's webhook to carry to a job made from it (a retry): the same URL, not yet sent. */
export function carriedWebhook(value: unknown): WebhookState | null {
  const url = (value as { url?: unknown } | null)?.url;
  return typeof url === "string" ? newWebhookState(url) : null;
}
