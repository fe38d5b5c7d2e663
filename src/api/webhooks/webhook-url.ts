import type { FieldIssue } from "../../errors.js";

/**
 * A submit's `webhook_url`: an absolute http(s) URL without credentials. Anything else is a 422 (file:,
 * gopher:, a relative path). Where it points is the client's choice: see SECURITY.md on webhooks.
 */
export function webhookUrlIssues(value: unknown): FieldIssue[] {
  if (value === undefined) return [];
  const issue = (msg: string): FieldIssue[] => [
    { loc: ["body", "webhook_url"], msg, type: "value_error.url" },
  ];
  if (typeof value !== "string") return issue("Input should be a valid string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return issue("Input should be an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return issue(`URL scheme should be 'http' or 'https' (got '${url.protocol.slice(0, -1)}')`);
  if (url.username || url.password) return issue("URL should not carry a user name or password");
  return [];
}
