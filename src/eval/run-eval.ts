import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOllamaUrls } from "../agent/ollama-client.js";
import { createApp } from "../app.js";
import { ApiClient } from "../cli/api-client.js";
import { resolveServerConfig, type ServerConfigInput } from "../config/server-config.js";
import { ConfigError, errorMessage } from "../errors.js";
import { ollamaFromConfig, sandboxFromConfig } from "../processors/builtin.js";
import { silentLogger } from "../util/logger.js";
import { attemptId, attemptMetrics, runAgentJob } from "./agent-run.js";
import { type BaselineAttempt, runBaseline } from "./baseline.js";
import { checkoutTaskTree, makeEvalProject } from "./eval-project.js";
import { type Grade, type Grader, gradeTree } from "./grade.js";
import { type AttemptRecord, RESULT_FILES, type RunInfo, writeResults } from "./results.js";
import { renderSummary } from "./summary.js";
import { type EvalTask, loadTasks } from "./task-spec.js";

export interface EvalOptions {
  tasksDir: string;
  tasks: string;
  coderModel: string;
  reviewerModel: string | null;
  maxLoops: number;
  repeat: number;
  baseline: "single-shot" | null;
  ollamaUrl: string;
  /** Where `<timestamp>/` is written. */
  resultsDir: string;
  /** The jail of the checks and the grading: the server's --sandbox, --limits, --jail-read. */
  jail: Pick<ServerConfigInput, "sandbox" | "limits" | "jailRead" | "workspacesDir">;
  timeoutSeconds: number;
  gradeTimeoutSeconds: number;
  parallel: number;
  /** Told of each graded attempt (progress lines). */
  onAttempt?: (r: AttemptRecord) => void;
}

/** An attempt's costs when it never got an answer. */
const NOTHING_DONE = {
  loops: 0,
  model_calls: 0,
  tool_calls: 0,
  malformed_tool_calls: 0,
  tokens_in: 0,
  tokens_out: 0,
  seconds: 0,
  diff: "",
};

const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, "-");

function record(task: EvalTask, mode: AttemptRecord["mode"], attempt: number, grade: Grade) {
  return {
    task: task.name,
    kind: task.kind,
    difficulty: task.difficulty,
    mode,
    attempt,
    passed: grade.passed,
    verdict: grade.verdict,
    detail: grade.detail,
  };
}

/**
 * One eval run: the tasks as one agent job through an in-process server (its real queue, isolation and
 * sandbox, its own SQLite data dir), each attempt's final tree graded with the hidden tests; then the
 * single-shot baseline on the same tasks; the results written to `<resultsDir>/<timestamp>/`. Returns that dir.
 */
export async function runEval(o: EvalOptions): Promise<{ dir: string; records: AttemptRecord[] }> {
  const tasks = loadTasks(o.tasksDir, o.tasks);
  const started = new Date();
  const work = mkdtempSync(join(tmpdir(), "oc-eval-"));
  const config = resolveServerConfig({
    host: "127.0.0.1",
    port: 0,
    dataDir: join(work, "data"),
    projectRoot: join(work, "project"),
    workspacesDir: join(work, "workspaces"),
    ollamaUrl: parseOllamaUrls(o.ollamaUrl).join(","),
    ...Object.fromEntries(Object.entries(o.jail).filter(([, v]) => v !== undefined)),
    logLevel: "silent",
    retentionDays: 0,
  });
  const grader: Grader = {
    sandbox: sandboxFromConfig(config),
    workDir: join(work, "grading"),
    timeoutMs: o.gradeTimeoutSeconds * 1000,
  };
  // Grading runs the agent's code: never without the jail the server would use (or --sandbox off, said).
  if (grader.sandbox.refusal) throw new ConfigError(grader.sandbox.refusal);
  mkdirSync(grader.workDir, { recursive: true });
  // The models first, on every Ollama URL: a missing one (or no Ollama) stops the run before anything starts.
  const client = ollamaFromConfig(config);
  await client.ensureModels([o.coderModel, ...(o.reviewerModel ? [o.reviewerModel] : [])]);
  const records: AttemptRecord[] = [];
  const add = (r: AttemptRecord) => {
    records.push(r);
    o.onAttempt?.(r);
  };
  const wall: Record<string, number> = {};
  let jobId: string | null = null;
  try {
    await makeEvalProject(config.projectRoot, tasks);
    const app = await createApp(config, { log: silentLogger });
    const t0 = performance.now();
    try {
      const api = new ApiClient({ server: await app.start() });
      const attempts = tasks.flatMap((t) =>
        Array.from({ length: o.repeat }, (_, i) => ({
          id: attemptId(t.name, i + 1),
          description: t.description,
          workspace: t.name,
        })),
      );
      const job = await runAgentJob(api, attempts, o);
      jobId = job.jobId;
      const byId = new Map(job.items.map((i) => [i.id, i]));
      for (const t of tasks)
        for (let a = 1; a <= o.repeat; a++) {
          const item = byId.get(attemptId(t.name, a));
          const result = item?.result ?? null;
          const failure = typeof result?.failure === "string" ? result.failure : null;
          const commit = (result?.commit ?? result?.base_commit ?? null) as string | null;
          let grade: Grade;
          if (failure === "timeout")
            grade = { passed: false, verdict: "timeout", detail: item?.error ?? "the agent timed out" };
          else if (commit === null)
            grade = { passed: false, verdict: "error", detail: item?.error ?? "the attempt left no tree" };
          else {
            const tree = await checkoutTaskTree(
              config.projectRoot,
              commit,
              t.name,
              join(work, "trees", `${t.name}-${a}`),
            );
            grade = await gradeTree(t, tree, grader);
          }
          const seconds =
            item?.started_at && item.finished_at ? Math.max(0, item.finished_at - item.started_at) : 0;
          add({
            ...record(t, "agent", a, grade),
            agent_status: failure ? `${item?.status}: ${failure}` : (item?.status ?? "missing"),
            ...attemptMetrics(result),
            seconds: Math.round(seconds * 100) / 100,
          });
        }
    } finally {
      await app.stop();
    }
    wall.agent = Math.round((performance.now() - t0) / 10) / 100;
    if (o.baseline === "single-shot") {
      const t1 = performance.now();
      for (const t of tasks)
        for (let a = 1; a <= o.repeat; a++) {
          const signal = AbortSignal.timeout(o.timeoutSeconds * 1000);
          const tree = join(work, "baseline", `${t.name}-${a}`);
          let b: BaselineAttempt;
          try {
            b = await runBaseline(client, o.coderModel, t, tree, signal);
          } catch (e: unknown) {
            // The call failed (Ollama's error, the time limit): the attempt fails, the run goes on.
            const verdict = signal.aborted ? "timeout" : "error";
            add({
              ...record(t, "single-shot", a, { passed: false, verdict, detail: errorMessage(e) }),
              ...NOTHING_DONE,
              agent_status: verdict,
            });
            continue;
          }
          const grade = await gradeTree(t, b.tree, grader);
          add({
            ...record(t, "single-shot", a, grade),
            agent_status: b.answered ? "answered" : "unparsable",
            loops: 1,
            model_calls: 1,
            tool_calls: 0,
            malformed_tool_calls: 0,
            tokens_in: b.tokensIn,
            tokens_out: b.tokensOut,
            seconds: b.seconds,
            diff: b.diff,
          });
        }
      wall["single-shot"] = Math.round((performance.now() - t1) / 10) / 100;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const run: RunInfo = {
    started_at: started.toISOString(),
    tasks: o.tasks,
    task_count: tasks.length,
    coder_model: o.coderModel,
    reviewer_model: o.reviewerModel,
    max_loops: o.maxLoops,
    repeat: o.repeat,
    baseline: o.baseline,
    ollama_url: o.ollamaUrl,
    sandbox: grader.sandbox.jail ?? (grader.sandbox.refusal ? "refused" : "off"),
    job_id: jobId,
    wall_seconds: wall,
  };
  const dir = join(o.resultsDir, stamp(started));
  mkdirSync(dir, { recursive: true });
  writeResults(dir, run, records);
  writeFileSync(join(dir, RESULT_FILES.summary), renderSummary(run, records));
  return { dir, records };
}
