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
  if (url.port !== "" && BLOCKED_PORTS.has(Number(url.port)))
    return issue(
      `port ${url.port} is one that fetch refuses to send to (the Fetch standard's "bad ports": mail, IRC, …); use another port`,
    );
  return [];
}

/**
 * The Fetch standard's "bad ports" (https://fetch.spec.whatwg.org/#port-blocking), which Node's fetch refuses
 * with "bad port": a webhook there could never be delivered, so it is a 422 at submit, not eight failed tries.
 */
const BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);
