import { createHmac, timingSafeEqual } from "node:crypto";

/** Headers of a webhook delivery. */
export const SIGNATURE_HEADER = "x-ollama-coder-signature";
export const TIMESTAMP_HEADER = "x-ollama-coder-timestamp";
export const EVENT_HEADER = "x-ollama-coder-event";

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the server's --webhook-secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** What a receiver does (README: Webhooks): the signature of the bytes received, compared in constant time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
