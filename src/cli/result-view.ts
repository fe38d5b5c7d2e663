/** How the CLI tells an item's story: why it failed and the end of what its check, test or command printed. */

/** One entry of a job's `result.results` (or one line of its JSONL export), as far as the CLI reads it. */
export interface ResultEntry {
  id?: string;
  status?: string;
  /** Why the item failed: check, error, timeout, security, not_found, conflict, invalid… */
  failure?: string | null;
  error?: string | null;
  exit_code?: number | null;
  timed_out?: boolean;
  duration_seconds?: number;
  stdout?: string;
  stderr?: string;
  /** An agent task's last check. */
  check?: { command?: string; output?: string; duration_seconds?: number } | null;
  /** An MCP operation's answer (a command's stdout and stderr). */
  result?: { stdout?: string; stderr?: string } | null;
  [field: string]: unknown;
}

/** ` (cached from <job>)` for an item answered from the result cache (README: Result caching), else "". */
export function cachedNote(e: ResultEntry): string {
  return e.cached === true ? ` (cached from ${String(e.cached_from ?? "an earlier job")})` : "";
}

/** A failed item says `failed`, whatever its type (its reason is `failure`; README: Statuses). */
export const isFailed = (e: ResultEntry): boolean => e.status === "failed";
export const isSkipped = (e: ResultEntry): boolean => e.status === "skipped" || e.status === "cancelled";

/** Lines of output shown for a failed item. */
export const TAIL_LINES = 20;

/** The last `n` lines of a text (without its trailing newline). */
export function tail(text: string, n = TAIL_LINES): string {
  const lines = text.replace(/\s+$/, "").split("\n");
  return lines.length <= n ? lines.join("\n") : lines.slice(-n).join("\n");
}

/** Why an item failed, in one line: `check: command exited with 1`, `timeout`, or its error. */
export function failureReason(e: ResultEntry): string {
  const error = e.error ?? (e.timed_out ? "timed out" : e.exit_code != null ? `exit ${e.exit_code}` : "");
  if (e.failure) return error ? `${e.failure}: ${error}` : e.failure;
  return error || (e.status ?? "failed");
}

/** What the item printed, by label: stdout, stderr, the agent's check output, an MCP command's streams. */
export function outputs(e: ResultEntry): { label: string; text: string }[] {
  const out: { label: string; text: string }[] = [];
  const add = (label: string, text: unknown) => {
    if (typeof text === "string" && text.trim() !== "") out.push({ label, text });
  };
  add("stdout", e.stdout);
  add("stderr", e.stderr);
  add(`check output${e.check?.command ? ` (${e.check.command})` : ""}`, e.check?.output);
  add("command stdout", e.result?.stdout);
  add("command stderr", e.result?.stderr);
  return out;
}

/** A failed item for a terminal: its reason, then the tail of each output, labelled and indented. */
export function describeFailure(e: ResultEntry, lines = TAIL_LINES): string {
  const parts = [`  ${e.id ?? "?"}: ${e.status} — ${failureReason(e)}`];
  for (const { label, text } of outputs(e)) {
    const all = text.replace(/\s+$/, "").split("\n").length;
    parts.push(`    ── ${label}${all > lines ? ` (last ${lines} of ${all} lines)` : ""} ──`);
    parts.push(
      tail(text, lines)
        .split("\n")
        .map((l) => `    │ ${l}`)
        .join("\n"),
    );
  }
  return parts.join("\n");
}
