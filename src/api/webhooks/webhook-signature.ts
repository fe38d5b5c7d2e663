import { createHmac, timingSafeEqual } from "node:crypto";

/** Headers of a webhook delivery. */
export const SIGNATURE_HEADER = "x-ollama-coder-signature";
export const TIMESTAMP_HEADER = "x-ollama-coder-timestamp";
export const EVENT_HEADER = "x-ollama-coder-event";

/**
 * `sha256=<hex>`: HMAC-SHA256, with the server's --webhook-secret, of the try's timestamp (the timestamp
 * header's value), a dot, and the raw body — so that a captured delivery cannot be replayed under a fresh
 * timestamp (Stripe's scheme).
 */
export function signBody(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")}`;
}

/**
 * What a receiver does (README: Webhooks): the signature of the timestamp and bytes received, compared in
 * constant time. (A receiver also refuses a timestamp too far from its clock.)
 */
export function verifySignature(
  secret: string,
  timestamp: string,
  body: string | Buffer,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, timestamp, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
