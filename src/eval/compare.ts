import type { AttemptRecord, RunInfo } from "./results.js";
import { EVAL_MODES } from "./results.js";
import { passRate } from "./summary.js";

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);

interface Side {
  label: string;
  run: RunInfo;
  records: AttemptRecord[];
}

/** A task's pass share in one mode of one run ("2/3"), or null when it was not run there. */
function share(
  records: readonly AttemptRecord[],
  task: string,
  mode: string,
): { text: string; rate: number } | null {
  const a = records.filter((r) => r.task === task && r.mode === mode);
  if (a.length === 0) return null;
  const passed = a.filter((r) => r.passed).length;
  return { text: `${passed}/${a.length}`, rate: passed / a.length };
}

/** Two runs side by side: settings, pass rates by mode, and the tasks whose outcome changed. */
export function renderComparison(a: Side, b: Side): string {
  const lines = [
    `A: ${a.label} — ${a.run.coder_model} / ${a.run.reviewer_model ?? "no reviewer"}, max_loops ${a.run.max_loops}, ${a.run.started_at}`,
    `B: ${b.label} — ${b.run.coder_model} / ${b.run.reviewer_model ?? "no reviewer"}, max_loops ${b.run.max_loops}, ${b.run.started_at}`,
    "",
    "mode          A pass@1   B pass@1   change",
  ];
  for (const mode of EVAL_MODES) {
    const ra = passRate(
      a.records.filter((r) => r.mode === mode),
      1,
    );
    const rb = passRate(
      b.records.filter((r) => r.mode === mode),
      1,
    );
    if (ra === null && rb === null) continue;
    const change = ra === null || rb === null ? "–" : `${((rb - ra) * 100).toFixed(1)} pts`;
    lines.push(`${mode.padEnd(13)} ${pct(ra).padStart(8)}   ${pct(rb).padStart(8)}   ${change}`);
  }
  const tasks = [...new Set([...a.records, ...b.records].map((r) => r.task))].sort();
  const changed: string[] = [];
  for (const mode of EVAL_MODES)
    for (const task of tasks) {
      const sa = share(a.records, task, mode);
      const sb = share(b.records, task, mode);
      if (sa?.rate === sb?.rate) continue;
      const word = sa === null ? "new" : sb === null ? "gone" : sb.rate > sa.rate ? "better" : "worse";
      changed.push(`  ${word.padEnd(6)} ${mode.padEnd(11)} ${task}: ${sa?.text ?? "–"} → ${sb?.text ?? "–"}`);
    }
  lines.push(
    "",
    changed.length ? `tasks that changed outcome (${changed.length}):` : "no task changed outcome",
  );
  lines.push(...changed);
  return `${lines.join("\n")}\n`;
}
