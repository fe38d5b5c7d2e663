import { MultiBar, Presets } from "cli-progress";
import type { Command } from "commander";
import type { ApiClient } from "./api-client.js";
import { client, pageLine, run, wholeNumber } from "./client-context.js";
import { EXIT, exitForStatus } from "./exit-codes.js";

/** The parts of a workflow answer the CLI shows. */
export interface WorkflowView {
  workflow_id: string;
  name: string;
  status: string;
  progress: { steps_total: number; steps_ended: number; items_total: number; items_done: number };
  steps: { id: string; job_id: string; status: string; total: number; done: number; error: string | null }[];
}

const ENDED = ["completed", "failed", "cancelled"];
const path = (id: string) => `/batch/workflows/${encodeURIComponent(id)}`;

/** One line per workflow, then (with `steps`) one per step. */
function lines(w: WorkflowView, steps: boolean): string[] {
  const p = w.progress;
  const head = `${w.workflow_id} ${w.name} ${w.status} (${p.steps_ended}/${p.steps_total} steps, ${p.items_done}/${p.items_total} items)`;
  if (!steps) return [head];
  return [
    head,
    ...w.steps.map(
      (s) => `  ${s.id}: ${s.status} ${s.done}/${s.total} ${s.job_id}${s.error ? ` (${s.error})` : ""}`,
    ),
  ];
}

/**
 * Follows a workflow to its end: a progress bar per step on a terminal (its items done of its total), plain
 * lines otherwise. Returns the exit code of its status.
 */
export async function followWorkflow(api: ApiClient, id: string, json: boolean): Promise<number> {
  const tty = process.stderr.isTTY && !json;
  const multibar = tty
    ? new MultiBar(
        { format: "{step} {bar} {value}/{total} | {status}", hideCursor: true, clearOnComplete: false },
        Presets.shades_classic,
      )
    : null;
  const bars = new Map<string, ReturnType<MultiBar["create"]>>();
  let last = "";
  let final: WorkflowView | null = null;
  for await (const { event, data } of api.events(`${path(id)}/events`)) {
    const w = data as WorkflowView;
    if (multibar) {
      const width = Math.max(...w.steps.map((s) => s.id.length));
      for (const s of w.steps) {
        const payload = { step: s.id.padEnd(width), status: s.status };
        const bar = bars.get(s.id);
        if (bar) {
          bar.setTotal(s.total);
          bar.update(s.done, payload);
        } else bars.set(s.id, multibar.create(s.total, s.done, payload));
      }
    } else if (!json) {
      const now = lines(w, false)[0]!;
      if (now !== last) console.error(now);
      last = now;
    }
    if (ENDED.includes(event)) final = w;
  }
  multibar?.stop();
  final ??= await api.request<WorkflowView>("GET", path(id));
  if (json) console.log(JSON.stringify(final));
  else for (const l of lines(final, true)) console.log(l);
  return exitForStatus(final.status);
}

/** `workflows` (list) and `workflow get|watch|cancel ID`: workflows on a running server. */
export function addWorkflowCommands(program: Command): void {
  program
    .command("workflows")
    .description("list workflows, newest first")
    .option("--limit <n>", "workflows per page", wholeNumber(1, 1000), 20)
    .option("--offset <n>", "skip this many", wholeNumber(0), 0)
    .action((opts: { limit: number; offset: number }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const r = await api.request<{ workflows: WorkflowView[]; total: number }>(
          "GET",
          `/batch/workflows?limit=${opts.limit}&offset=${opts.offset}`,
        );
        if (json) console.log(JSON.stringify(r));
        else {
          for (const w of r.workflows) console.log(lines(w, false)[0]);
          console.log(pageLine(r.workflows.length, opts.offset, r.total, "workflows"));
        }
        return EXIT.completed;
      }),
    );

  const workflow = program.command("workflow").description("show, follow or cancel a workflow");
  workflow
    .command("get")
    .description("a workflow's status and its steps (exit 0 completed, 1 failed, 2 cancelled, 4 not ended)")
    .argument("<id>")
    .action((id: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const w = await api.request<WorkflowView>("GET", path(id));
        if (json) console.log(JSON.stringify(w));
        else for (const l of lines(w, true)) console.log(l);
        return exitForStatus(w.status);
      }),
    );
  workflow
    .command("watch")
    .description("follow a workflow to its end, a progress bar per step")
    .argument("<id>")
    .action((id: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        return followWorkflow(api, id, json);
      }),
    );
  workflow
    .command("cancel")
    .description("cancel every step of a workflow that has not ended")
    .argument("<id>")
    .action((id: string, _opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const r = await api.request<{ workflow_id: string; cancelled_jobs: string[] }>("DELETE", path(id));
        console.log(
          json ? JSON.stringify(r) : `cancelled ${r.workflow_id} (${r.cancelled_jobs.length} job(s))`,
        );
        return EXIT.completed;
      }),
    );
}
