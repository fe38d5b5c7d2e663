import { failureReason, isFailed, isSkipped, outputs, type ResultEntry } from "./result-view.js";

/** The formats `export` writes: the server's JSON lines as they come, or CSV and JUnit XML made from them. */
export const EXPORT_FORMATS = ["jsonl", "csv", "junit"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Job types whose items are test cases: JUnit XML is offered for these. */
export const JUNIT_TYPES: ReadonlySet<string> = new Set(["batch_validation", "batch_tests"]);

const CSV_COLUMNS = [
  "id",
  "status",
  "failure",
  "error",
  "exit_code",
  "duration_seconds",
  "path",
  "type",
  "command",
  "description",
] as const;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const csvHeader = (): string => `${CSV_COLUMNS.join(",")}\r\n`;

/** One result as a CSV row (RFC 4180: quoted when needed, CRLF). */
export function csvRow(e: ResultEntry): string {
  const duration = e.duration_seconds ?? e.check?.duration_seconds;
  const row: Record<string, unknown> = {
    ...e,
    duration_seconds: duration,
    error: e.error ?? (isFailed(e) ? failureReason(e) : ""),
  };
  return `${CSV_COLUMNS.map((c) => csvCell(row[c])).join(",")}\r\n`;
}

/** Text as XML character data or attribute value: escaped, and without the characters XML 1.0 forbids. */
export function xmlText(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** Collects results and writes them as one JUnit XML test suite (what CI systems read). */
export class JunitReport {
  private readonly cases: string[] = [];
  private failures = 0;
  private skipped = 0;
  private time = 0;

  constructor(
    private readonly jobId: string,
    private readonly jobType: string,
  ) {}

  add(e: ResultEntry): void {
    const seconds = Number(e.duration_seconds ?? e.check?.duration_seconds ?? 0) || 0;
    this.time += seconds;
    const name = String(e.path ?? e.id ?? "?");
    const open = `    <testcase name="${xmlText(name)}" classname="${xmlText(`${this.jobType}.${e.id ?? name}`)}" time="${seconds.toFixed(3)}"`;
    const out = outputs(e);
    const body: string[] = [];
    if (isFailed(e)) {
      this.failures++;
      const text = out.map((o) => `── ${o.label} ──\n${o.text}`).join("\n");
      body.push(
        `      <failure message="${xmlText(failureReason(e))}" type="${xmlText(e.failure ?? e.status ?? "failed")}">${xmlText(text)}</failure>`,
      );
    } else if (isSkipped(e)) {
      this.skipped++;
      body.push(`      <skipped message="${xmlText(e.status ?? "skipped")}"/>`);
    }
    const stdout = typeof e.stdout === "string" ? e.stdout : "";
    const stderr = typeof e.stderr === "string" ? e.stderr : "";
    if (stdout) body.push(`      <system-out>${xmlText(stdout)}</system-out>`);
    if (stderr) body.push(`      <system-err>${xmlText(stderr)}</system-err>`);
    this.cases.push(body.length === 0 ? `${open}/>` : `${open}>\n${body.join("\n")}\n    </testcase>`);
  }

  toString(): string {
    const counts = `tests="${this.cases.length}" failures="${this.failures}" errors="0" skipped="${this.skipped}" time="${this.time.toFixed(3)}"`;
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<testsuites name="ollama-coder" ${counts}>`,
      `  <testsuite name="${xmlText(this.jobId)}" ${counts}>`,
      ...this.cases,
      "  </testsuite>",
      "</testsuites>",
      "",
    ].join("\n");
  }
}
