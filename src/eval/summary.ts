import { type AttemptRecord, EVAL_MODES, type EvalMode, type RunInfo } from "./results.js";
import { DIFFICULTIES, TASK_KINDS } from "./task-spec.js";

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);
const num = (x: number, digits = 1) => x.toFixed(digits);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** C(n, k) as a float (n is small: attempts per task). */
function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/** The unbiased pass@k of one task from n attempts, c of them passed (1 - C(n-c, k) / C(n, k)). */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  return 1 - choose(n - c, k) / choose(n, k);
}

/** Attempts grouped by task. */
function byTask(records: readonly AttemptRecord[]): Map<string, AttemptRecord[]> {
  const m = new Map<string, AttemptRecord[]>();
  for (const r of records) m.set(r.task, [...(m.get(r.task) ?? []), r]);
  return m;
}

/** pass@k over tasks (each task's estimate, averaged); null without attempts. */
export function passRate(records: readonly AttemptRecord[], k: number): number | null {
  const tasks = [...byTask(records).values()];
  if (tasks.length === 0) return null;
  return mean(tasks.map((a) => passAtK(a.length, a.filter((r) => r.passed).length, Math.min(k, a.length))));
}

const ofMode = (records: readonly AttemptRecord[], mode: EvalMode) => records.filter((r) => r.mode === mode);

function overallRow(mode: EvalMode, rs: AttemptRecord[], repeat: number, wall: number | undefined): string {
  const calls = sum(rs.map((r) => r.tool_calls + r.malformed_tool_calls));
  const malformed = calls ? sum(rs.map((r) => r.malformed_tool_calls)) / calls : null;
  const cells = [
    mode,
    String(rs.length),
    pct(passRate(rs, 1)),
    ...(repeat > 1 ? [pct(passRate(rs, repeat))] : []),
    pct(malformed),
    num(mean(rs.map((r) => r.loops))),
    String(sum(rs.map((r) => r.model_calls))),
    String(sum(rs.map((r) => r.tool_calls))),
    String(sum(rs.map((r) => r.tokens_in))),
    String(sum(rs.map((r) => r.tokens_out))),
    num(mean(rs.map((r) => r.seconds))),
    wall === undefined ? "–" : num(wall),
  ];
  return `| ${cells.join(" | ")} |`;
}

/** A pass@1 table of the modes run, by one label (kind or difficulty). */
function breakdown(
  title: string,
  labels: readonly string[],
  of: (r: AttemptRecord) => string,
  records: readonly AttemptRecord[],
  modes: EvalMode[],
): string[] {
  const rows = labels
    .map((label) => records.filter((r) => of(r) === label))
    .filter((rs) => rs.length > 0)
    .map((rs) => {
      const tasks = new Set(rs.map((r) => r.task)).size;
      return `| ${of(rs[0]!)} | ${tasks} | ${modes.map((m) => pct(passRate(ofMode(rs, m), 1))).join(" | ")} |`;
    });
  return [
    `## By ${title}`,
    "",
    `| ${title} | tasks | ${modes.map((m) => `${m} pass@1`).join(" | ")} |`,
    `|---|---:|${modes.map(() => "---:|").join("")}`,
    ...rows,
    "",
  ];
}

/**
 * The Markdown summary of a run: made from run.json and results.jsonl alone (and so made again, equal,
 * from the files).
 */
export function renderSummary(run: RunInfo, records: readonly AttemptRecord[]): string {
  const modes = EVAL_MODES.filter((m) => records.some((r) => r.mode === m));
  const k = run.repeat;
  const head = [
    `# Eval run ${run.started_at}`,
    "",
    `- coder model: \`${run.coder_model}\`; reviewer: ${run.reviewer_model ? `\`${run.reviewer_model}\`` : "none"}; max_loops ${run.max_loops}`,
    `- tasks: ${run.task_count} (\`${run.tasks}\`), each tried ${k} time(s); baseline: ${run.baseline ?? "none"}`,
    `- Ollama: ${run.ollama_url}; sandbox: ${run.sandbox}${run.job_id ? `; agent job ${run.job_id}` : ""}`,
    "",
    "## Overall",
    "",
    `| mode | attempts | pass@1 |${k > 1 ? ` pass@${k} |` : ""} malformed calls | mean loops | model calls | tool calls | tokens in | tokens out | mean s/attempt | wall s |`,
    `|---|---:|---:|${k > 1 ? "---:|" : ""}---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...modes.map((m) => overallRow(m, ofMode(records, m), k, run.wall_seconds[m])),
    "",
  ];
  const tasks = [...byTask(records).entries()].map(([task, rs]) => {
    const cells = modes.map((m) => {
      const a = ofMode(rs, m);
      return `${a.filter((r) => r.passed).length}/${a.length} (${[...new Set(a.map((r) => r.verdict))].join(", ")})`;
    });
    return `| ${task} | ${rs[0]!.kind} | ${rs[0]!.difficulty} | ${cells.join(" | ")} |`;
  });
  return [
    ...head,
    ...breakdown("kind", TASK_KINDS, (r) => r.kind, records, modes),
    ...breakdown("difficulty", DIFFICULTIES, (r) => r.difficulty, records, modes),
    "## Tasks",
    "",
    `| task | kind | difficulty | ${modes.map((m) => `${m} passed (verdicts)`).join(" | ")} |`,
    `|---|---|---|${modes.map(() => "---|").join("")}`,
    ...tasks,
    "",
  ].join("\n");
}
