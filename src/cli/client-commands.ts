import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import { DEPENDENCY_FAILURE_POLICIES } from "../domain/dependencies.js";
import { DEFAULT_PRIORITY, PRIORITY_BOUNDS } from "../domain/priority.js";
import { RETRY_LIMITS } from "../domain/retry-policy.js";
import { BUILTIN_KINDS } from "../processors/builtin-kinds.js";
import { kindNamed } from "../queue/job-type-alias.js";
import type { ApiClient } from "./api-client.js";
import { client, pageLine, readInput, run, wholeNumber } from "./client-context.js";
import { EXIT, exitForStatus } from "./exit-codes.js";
import { addExportCommand } from "./export-command.js";
import { addItemsCommand } from "./items-command.js";
import { cachedNote, describeFailure, isFailed, type ResultEntry } from "./result-view.js";
import { followWorkflow, type WorkflowView } from "./workflow-command.js";

/** The `submit` kinds: the built-in job kinds' submit routes, by their CLI name. */
const KINDS = new Map(
  BUILTIN_KINDS.flatMap((kind) => (kind.submit ? [[kind.submit.cliName, kind.submit] as const] : [])),
);
const KIND_NAMES = [...KINDS.keys()];

/** The parts of a JobResponse the CLI shows. */
interface JobView {
  job_id: string;
  status: string;
  priority?: number;
  progress?: number;
  error?: string | null;
  metadata?: {
    progress?: {
      total?: number;
      processed?: number;
      failed?: number;
      retrying?: number;
      items_per_second?: number;
      estimated_remaining_seconds?: number | null;
    };
  };
  result?: {
    summary?: { successful: number; failed: number; skipped: number; cancelled?: number };
    results?: ResultEntry[];
  } | null;
}

const PRIORITY_RANGE = `${PRIORITY_BOUNDS.minimum}…${PRIORITY_BOUNDS.maximum}`;
const priorityArg = wholeNumber(PRIORITY_BOUNDS.minimum, PRIORITY_BOUNDS.maximum);

/** Collects a repeatable option's values. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--option key=value`: the value as JSON when it is JSON (9, true, null, "x"), else as text. */
function optionOverride(pair: string): [string, unknown] {
  const at = pair.indexOf("=");
  if (at <= 0) throw new Error(`--option takes key=value, not '${pair}'`);
  const raw = pair.slice(at + 1);
  try {
    return [pair.slice(0, at), JSON.parse(raw)];
  } catch {
    return [pair.slice(0, at), raw];
  }
}

const fmtEta = (s: number | null | undefined): string =>
  s == null
    ? "?"
    : s < 90
      ? `${Math.round(s)}s`
      : s < 5400
        ? `${Math.round(s / 60)}m`
        : `${(s / 3600).toFixed(1)}h`;

function line(job: JobView): string {
  const p = job.metadata?.progress ?? {};
  const priority = job.priority ? ` priority ${job.priority}` : "";
  return `${job.job_id} ${job.status}${priority} ${Number(job.progress ?? 0).toFixed(1)}% (${p.processed ?? 0}/${p.total ?? "?"}, ${p.failed ?? 0} failed${p.retrying ? `, ${p.retrying} retrying` : ""}, ${p.items_per_second ?? 0} items/s, ETA ${fmtEta(p.estimated_remaining_seconds)})`;
}

/** Follows a job to its end: a progress bar on a terminal, plain lines otherwise. Returns the exit code. */
async function follow(api: ApiClient, jobId: string, json: boolean): Promise<number> {
  const tty = process.stderr.isTTY && !json;
  const bar = tty
    ? new SingleBar(
        {
          format: "{bar} {percentage}% | {value}/{total} | {rate} items/s | ETA {eta_h} | {status}",
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : null;
  let started = false;
  let lastLine = 0;
  let final: JobView | null = null;
  for await (const { event, data: raw } of api.events(`/batch/jobs/${encodeURIComponent(jobId)}/events`)) {
    if (event === "item") continue;
    const data = raw as JobView;
    const p = data.metadata?.progress ?? {};
    if (bar) {
      const payload = {
        rate: p.items_per_second ?? 0,
        eta_h: fmtEta(p.estimated_remaining_seconds),
        status: data.status,
      };
      if (!started) bar.start(p.total ?? 0, p.processed ?? 0, payload);
      else bar.update(p.processed ?? 0, payload);
      started = true;
    } else if (
      !json &&
      (Date.now() - lastLine > 1000 || ["completed", "failed", "cancelled"].includes(event))
    ) {
      console.error(line(data));
      lastLine = Date.now();
    }
    if (["completed", "failed", "cancelled"].includes(event)) final = data;
  }
  bar?.stop();
  if (!final)
    final = await api.request<JobView>(
      "GET",
      `/batch/jobs/${encodeURIComponent(jobId)}?include_results=false`,
    );
  if (json) console.log(JSON.stringify(final));
  else {
    const s = final.result?.summary;
    console.log(
      `${final.job_id}: ${final.status}${s ? ` — ${s.successful} ok, ${s.failed} failed, ${s.skipped} skipped, ${s.cancelled ?? 0} cancelled` : ""}${final.error ? ` (${final.error})` : ""}`,
    );
  }
  return exitForStatus(final.status);
}

/** `submit workflow <file>`: the kind name that submits a workflow (POST /batch/workflows) instead of a job. */
const WORKFLOW = "workflow";

/** Submits a workflow file (the POST /batch/workflows body); with --wait, follows it step by step. */
async function submitWorkflow(file: string, opts: { wait?: boolean }, cmd: Command): Promise<number> {
  const jobOnly = Object.keys(opts).filter((k) => k !== "wait");
  if (jobOnly.length > 0)
    throw new Error(
      `--${jobOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to a job, not a workflow: set it in a step's body`,
    );
  const { api, json } = client(cmd);
  const w = await api.request<WorkflowView>("POST", "/batch/workflows", readInput(file));
  if (!opts.wait) {
    console.log(json ? JSON.stringify(w) : w.workflow_id);
    return EXIT.completed;
  }
  if (!json) console.error(`submitted ${w.workflow_id}`);
  return followWorkflow(api, w.workflow_id, json);
}

/** submit, jobs, job, watch, cancel, priority, retry, stats: a client of a running server. */
export function addClientCommands(program: Command): void {
  program
    .option(
      "--server <url>",
      "server URL (env OLLAMA_CODER_URL)",
      process.env.OLLAMA_CODER_URL ?? "http://127.0.0.1:8000",
    )
    .option("--api-key <key>", "API key (env OLLAMA_CODER_API_KEY; never shown here)")
    .option("--json", "print JSON");

  program
    .command("submit")
    .description(
      `submit a batch: <${KIND_NAMES.join("|")}> <file.json|-> (a request body, or a list of items); or a workflow: workflow <pipeline.json|->`,
    )
    .argument("<kind>", [...KIND_NAMES, WORKFLOW].join(" | "))
    .argument("<file>", "JSON file, or - for standard input")
    .option("--wait", "follow the job to its end (exit 0 completed, 1 failed, 2 cancelled)")
    .option("--parallel <n>", "items at once (default: the kind's)", wholeNumber(1))
    .option("--chunk-size <n>", "items claimed at a time (default: the kind's)", wholeNumber(1))
    .option(
      "--retries <n>",
      `automatic retries of a failed item, 0-${RETRY_LIMITS.maxAttempts - 1} (retry.max_attempts = n + 1; default: 2 for errors)`,
      wholeNumber(0, RETRY_LIMITS.maxAttempts - 1),
    )
    .option("--retry-failed", "retry items that ran and failed too (retry.on = error, failed)")
    .option(
      "--priority <n>",
      `higher runs first, ${PRIORITY_RANGE} (default ${DEFAULT_PRIORITY})`,
      priorityArg,
    )
    .option("--cache", "answer items from earlier identical successful results (cache: true)")
    .option("--cache-ttl <seconds>", "how long this job's results answer later items", wholeNumber(1))
    .option("--depends-on <job...>", "wait until these jobs ended (depends_on)")
    .option(
      "--on-dependency-failure <rule>",
      `${DEPENDENCY_FAILURE_POLICIES.join("|")}: a failed or cancelled dependency cancels this job, and a dependency item that did not succeed skips its dependants (skip, the default), or not (run)`,
    )
    .action(
      (
        kind: string,
        file: string,
        opts: {
          wait?: boolean;
          parallel?: number;
          chunkSize?: number;
          retries?: number;
          retryFailed?: boolean;
          priority?: number;
          cache?: boolean;
          cacheTtl?: number;
          dependsOn?: string[];
          onDependencyFailure?: string;
        },
        cmd: Command,
      ) =>
        run(async () => {
          if (kind === WORKFLOW) return submitWorkflow(file, opts, cmd);
          // The submit name, or any name the kind answers to (`mcp`, `batch_tests`, `agent`).
          const target = KINDS.get(kind) ?? kindNamed(BUILTIN_KINDS, kind)?.submit;
          if (!target) throw new Error(`unknown kind '${kind}'; use one of ${KIND_NAMES.join(", ")}`);
          const input = readInput(file);
          const body: Record<string, unknown> = Array.isArray(input)
            ? { [target.itemsField]: input }
            : { ...(input as object) };
          if (opts.parallel !== undefined) body.parallel = opts.parallel;
          if (opts.chunkSize !== undefined) body.chunk_size = opts.chunkSize;
          if (opts.retries !== undefined || opts.retryFailed) {
            const retry: Record<string, unknown> = { ...(body.retry as object | undefined) };
            if (opts.retries !== undefined) retry.max_attempts = opts.retries + 1;
            if (opts.retryFailed) retry.on = ["error", "failed"];
            body.retry = retry;
          }
          if (opts.priority !== undefined) body.priority = opts.priority;
          if (opts.cache) body.cache = true;
          if (opts.cacheTtl !== undefined) body.cache_ttl_seconds = opts.cacheTtl;
          if (opts.dependsOn !== undefined) body.depends_on = opts.dependsOn;
          if (opts.onDependencyFailure !== undefined) body.on_dependency_failure = opts.onDependencyFailure;
          const { api, json } = client(cmd);
          const job = await api.request<JobView>("POST", target.path, body);
          if (!opts.wait) {
            console.log(json ? JSON.stringify(job) : job.job_id);
            return EXIT.completed;
          }
          if (!json) console.error(`submitted ${job.job_id}`);
          return follow(api, job.job_id, json);
        }),
    );

  program
    .command("jobs")
    .description("list jobs (newest first)")
    .option("--status <status>", "queued|running|completed|failed|cancelled")
    .option(
      "--type <type>",
      "job type: its submit name (tests, validation, agent, mcp) or its stored name (batch_tests)",
    )
    .option("--limit <n>", "how many", wholeNumber(1), 20)
    .option("--offset <n>", "how many to skip (newest first)", wholeNumber(0), 0)
    .action((opts: { status?: string; type?: string; limit: number; offset: number }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const q = new URLSearchParams({ limit: String(opts.limit), offset: String(opts.offset) });
        if (opts.status) q.set("status", opts.status);
        if (opts.type) q.set("job_type", opts.type);
        const res = await api.request<{ jobs: JobView[]; total: number }>("GET", `/batch/jobs?${q}`);
        if (json) console.log(JSON.stringify(res));
        else {
          for (const j of res.jobs) console.log(line(j));
          console.log(pageLine(res.jobs.length, opts.offset, res.total, "job(s)"));
        }
        return EXIT.completed;
      }),
    );

  program
    .command("job")
    .description(
      "one job's status and summary; exits by its status (0 completed, 1 failed, 2 cancelled, 4 not ended)",
    )
    .argument("<id>")
    .option("--results", "every result; a failed one with its reason and the end of its output")
    .action((id: string, opts: { results?: boolean }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const job = await api.request<JobView>(
          "GET",
          `/batch/jobs/${encodeURIComponent(id)}?include_results=${opts.results === true}`,
        );
        if (json) console.log(JSON.stringify(job));
        else {
          console.log(line(job));
          if (job.error) console.log(`error: ${job.error}`);
          if (job.result?.summary) console.log(`summary: ${JSON.stringify(job.result.summary)}`);
          for (const r of job.result?.results ?? [])
            console.log(isFailed(r) ? describeFailure(r) : `  ${r.id}: ${r.status}${cachedNote(r)}`);
        }
        return exitForStatus(job.status);
      }),
    );

  program
    .command("watch")
    .description("follow a job to its end (exit 0 completed, 1 failed, 2 cancelled)")
    .argument("<id>")
    .action((id: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        return follow(api, id, json);
      }),
    );

  program
    .command("cancel")
    .description("cancel a queued or running job, and the jobs waiting on it")
    .argument("<id>")
    .option("--no-cascade", "leave the jobs waiting on it to their on_dependency_failure rule")
    .action((id: string, opts: { cascade: boolean }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const r = await api.request<{ job_id: string }>(
          "DELETE",
          `/batch/jobs/${encodeURIComponent(id)}${opts.cascade ? "" : "?cascade=false"}`,
        );
        console.log(json ? JSON.stringify(r) : `cancelled ${r.job_id}`);
        return EXIT.completed;
      }),
    );

  program
    .command("priority")
    .description(
      "change the priority of a queued or running job (higher runs first; a raised one may take a lower job's slot)",
    )
    .argument("<id>")
    .argument("<priority>", PRIORITY_RANGE, priorityArg)
    .action((id: string, priority: number, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const job = await api.request<JobView>("PATCH", `/batch/jobs/${encodeURIComponent(id)}`, {
          priority,
        });
        console.log(json ? JSON.stringify(job) : `${job.job_id} priority ${job.priority}`);
        return EXIT.completed;
      }),
    );

  program
    .command("retry")
    .description(
      "submit items of an ended job again as a new job: its failed items, and a cancelled job's cancelled ones",
    )
    .argument("<id>")
    .option(
      "--include <statuses>",
      "comma-separated item statuses to run again, e.g. failed,cancelled,passed",
    )
    .option("--item <id>", "only this item (repeatable)", collect, [])
    .option(
      "--option <key=value>",
      "override one of the job's options; the value is JSON or text (repeatable)",
      collect,
      [],
    )
    .option("--wait", "follow the new job to its end")
    .action(
      (
        id: string,
        opts: { wait?: boolean; include?: string; item: string[]; option: string[] },
        cmd: Command,
      ) =>
        run(async () => {
          const { api, json } = client(cmd);
          const body: Record<string, unknown> = {};
          if (opts.include)
            body.include = opts.include
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean);
          if (opts.item.length > 0) body.items = opts.item;
          if (opts.option.length > 0) body.options = Object.fromEntries(opts.option.map(optionOverride));
          const job = await api.request<JobView>("POST", `/batch/jobs/${encodeURIComponent(id)}/retry`, body);
          if (!opts.wait) {
            console.log(json ? JSON.stringify(job) : job.job_id);
            return EXIT.completed;
          }
          return follow(api, job.job_id, json);
        }),
    );

  program
    .command("stats")
    .description("jobs by status")
    .action((_opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const { stats } = await api.request<{
          stats: Record<string, number> & { cache?: Record<string, number> };
        }>("GET", "/batch/stats");
        const { cache, ...jobs } = stats;
        const lines = Object.entries(jobs).map(([k, v]) => `${k}: ${v}`);
        if (cache) lines.push(`cache: ${cache.hits} hits, ${cache.misses} misses, ${cache.entries} entries`);
        console.log(json ? JSON.stringify(stats) : lines.join("\n"));
        return EXIT.completed;
      }),
    );

  program
    .command("cleanup")
    .description("delete ended jobs (and their items) that ended more than some days ago")
    .requiredOption("--older-than-days <days>", "jobs that ended more than this many days ago (0: all)")
    .option(
      "--status <status...>",
      "only jobs that ended so: completed, failed, cancelled, comma- or space-separated (default: all three)",
    )
    .action((opts: { olderThanDays: string; status?: string[] }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const days = Number(opts.olderThanDays);
        if (!Number.isFinite(days) || days < 0)
          throw new Error(
            `--older-than-days must be a number of days, 0 or more (got ${opts.olderThanDays})`,
          );
        const r = await api.request<{ deleted: number; job_ids: string[] }>("POST", "/batch/cleanup", {
          older_than_days: days,
          // "completed,failed" or "completed failed", as retry's --include takes them.
          ...(opts.status ? { status: opts.status.flatMap((s) => s.split(",")).filter(Boolean) } : {}),
        });
        console.log(json ? JSON.stringify(r) : `deleted ${r.deleted} job(s)`);
        return EXIT.completed;
      }),
    );

  program
    .command("delete")
    .description("delete one ended job and its items now (cancel a running one first)")
    .argument("<id>")
    .action((id: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const r = await api.request<{ job_id: string }>(
          "DELETE",
          `/batch/jobs/${encodeURIComponent(id)}?purge=true`,
        );
        console.log(json ? JSON.stringify(r) : `deleted ${r.job_id}`);
        return EXIT.completed;
      }),
    );
  addItemsCommand(program);
  addExportCommand(program);
}
