import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Static, Type } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "../errors.js";
import { DIFFICULTIES, TASK_KINDS } from "./task-spec.js";

export const EVAL_MODES = ["agent", "single-shot"] as const;
export type EvalMode = (typeof EVAL_MODES)[number];

/** One line of results.jsonl: one task, one attempt, one mode. */
export const AttemptRecordSchema = Type.Object({
  task: Type.String(),
  kind: Type.Enum(TASK_KINDS),
  difficulty: Type.Enum(DIFFICULTIES),
  mode: Type.Enum(EVAL_MODES),
  attempt: Type.Integer({ minimum: 1 }),
  passed: Type.Boolean(),
  verdict: Type.String(),
  detail: Type.String(),
  /** The agent's own word on the task (completed | failed | timeout …); the baseline's: answered | unparsable. */
  agent_status: Type.String(),
  loops: Type.Integer({ minimum: 0 }),
  model_calls: Type.Integer({ minimum: 0 }),
  tool_calls: Type.Integer({ minimum: 0 }),
  malformed_tool_calls: Type.Integer({ minimum: 0 }),
  tokens_in: Type.Integer({ minimum: 0 }),
  tokens_out: Type.Integer({ minimum: 0 }),
  seconds: Type.Number({ minimum: 0 }),
  diff: Type.String(),
});
export type AttemptRecord = Static<typeof AttemptRecordSchema>;

/** run.json: how the run was made. */
export const RunInfoSchema = Type.Object({
  started_at: Type.String(),
  tasks: Type.String({ description: "The --tasks glob." }),
  task_count: Type.Integer(),
  coder_model: Type.String(),
  reviewer_model: Type.Union([Type.String(), Type.Null()]),
  max_loops: Type.Integer(),
  repeat: Type.Integer({ minimum: 1 }),
  baseline: Type.Union([Type.Literal("single-shot"), Type.Null()]),
  ollama_url: Type.String(),
  sandbox: Type.String({ description: "Which jail ran the checks and the grading." }),
  job_id: Type.Union([Type.String(), Type.Null()]),
  wall_seconds: Type.Record(Type.String(), Type.Number(), { description: "By mode." }),
});
export type RunInfo = Static<typeof RunInfoSchema>;

export const RESULT_FILES = { records: "results.jsonl", run: "run.json", summary: "summary.md" } as const;

export function writeResults(dir: string, run: RunInfo, records: readonly AttemptRecord[]): void {
  writeFileSync(join(dir, RESULT_FILES.run), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(dir, RESULT_FILES.records), records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

/** A run's files read back and checked (a line that does not fit says where). */
export function readResults(dir: string): { run: RunInfo; records: AttemptRecord[] } {
  if (!existsSync(dir)) throw new ConfigError(`${dir}: no such directory`);
  const notARun = `${dir} is not an eval run (give a directory that eval wrote: eval-results/<timestamp>)`;
  for (const file of [RESULT_FILES.run, RESULT_FILES.records])
    if (!existsSync(join(dir, file))) throw new ConfigError(`${notARun}: it has no ${file}`);
  let run: unknown;
  let lines: string[];
  try {
    run = JSON.parse(readFileSync(join(dir, RESULT_FILES.run), "utf8"));
    lines = readFileSync(join(dir, RESULT_FILES.records), "utf8").split("\n").filter(Boolean);
  } catch (e: unknown) {
    throw new ConfigError(`${notARun}: ${(e as Error).message}`);
  }
  if (!Value.Check(RunInfoSchema, run))
    throw new ConfigError(`${dir}/${RESULT_FILES.run} is not a run record`);
  const records = lines.map((line, i) => {
    const where = `${dir}/${RESULT_FILES.records} line ${i + 1} is not an attempt record`;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e: unknown) {
      throw new ConfigError(`${where}: ${(e as Error).message}`);
    }
    if (!Value.Check(AttemptRecordSchema, r)) throw new ConfigError(where);
    return r;
  });
  return { run, records };
}
