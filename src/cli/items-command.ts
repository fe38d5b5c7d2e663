import type { Command } from "commander";
import { client, pageLine, run, wholeNumber } from "./client-context.js";
import { EXIT } from "./exit-codes.js";
import { cachedNote, describeFailure, isFailed, type ResultEntry } from "./result-view.js";

/** One item as `GET /batch/jobs/{id}/items` answers it. */
interface ItemView {
  seq: number;
  id: string;
  status: string;
  attempts: number;
  result: ResultEntry | null;
  error: string | null;
}

/** `items <job_id>`: a job's items, a page at a time, failed ones with their reason and output. */
export function addItemsCommand(program: Command): void {
  program
    .command("items")
    .description("a job's items, a page at a time (GET /batch/jobs/{id}/items)")
    .argument("<job_id>")
    .option("--status <status>", "only items with this status (failed, succeeded, skipped, cancelled…)")
    .option("--limit <n>", "how many", wholeNumber(1), 50)
    .option("--offset <n>", "how many to skip (in submission order)", wholeNumber(0), 0)
    .option("--failed-first", "failed items first")
    .action(
      (
        jobId: string,
        opts: { status?: string; limit: number; offset: number; failedFirst?: boolean },
        cmd: Command,
      ) =>
        run(async () => {
          const { api, json } = client(cmd);
          const q = new URLSearchParams({ limit: String(opts.limit), offset: String(opts.offset) });
          if (opts.status) q.set("status", opts.status);
          if (opts.failedFirst) q.set("failed_first", "true");
          const page = await api.request<{ items: ItemView[]; total: number }>(
            "GET",
            `/batch/jobs/${encodeURIComponent(jobId)}/items?${q}`,
          );
          if (json) console.log(JSON.stringify(page));
          else {
            for (const item of page.items) {
              const entry: ResultEntry = {
                ...(item.result ?? {}),
                id: item.id,
                status: item.status,
                error: item.result?.error ?? item.error,
              };
              console.log(
                isFailed(entry)
                  ? describeFailure(entry)
                  : `  ${item.id}: ${item.status}${item.attempts > 1 ? ` (attempt ${item.attempts})` : ""}${cachedNote(entry)}`,
              );
            }
            console.log(pageLine(page.items.length, opts.offset, page.total, "item(s)"));
          }
          return EXIT.completed;
        }),
    );
}
