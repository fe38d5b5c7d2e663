import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { type Command, Option } from "commander";
import { client, run } from "./client-context.js";
import { EXIT } from "./exit-codes.js";
import {
  csvHeader,
  csvRow,
  EXPORT_FORMATS,
  type ExportFormat,
  JUNIT_TYPES,
  JunitReport,
} from "./export-formats.js";
import type { ResultEntry } from "./result-view.js";

/** Writes text to a file or standard output, waiting when the stream asks to. */
async function write(out: WriteStream | NodeJS.WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

/** `export <job_id>`: every result, from the server's JSON-lines export, as JSONL, CSV or JUnit XML. */
export function addExportCommand(program: Command): void {
  program
    .command("export")
    .description(
      "every result of a job (GET /batch/jobs/{id}/results.jsonl) as JSON lines, CSV, or JUnit XML for CI (validation and test jobs)",
    )
    .argument("<job_id>")
    .addOption(new Option("--format <format>", "output format").choices(EXPORT_FORMATS).default("jsonl"))
    .option("-o, --output <file>", "write to this file (default: standard output)")
    .action((jobId: string, opts: { format: ExportFormat; output?: string }, cmd: Command) =>
      run(async () => {
        const { api } = client(cmd);
        const job = await api.request<{ job_id: string; status: string }>(
          "GET",
          `/batch/jobs/${encodeURIComponent(jobId)}?include_results=false`,
        );
        const type = job.job_id.replace(/-[0-9a-f]{12}$/, "");
        if (opts.format === "junit" && !JUNIT_TYPES.has(type))
          throw new Error(
            `junit is for validation and test jobs; ${job.job_id} is ${type} (use --format jsonl or csv)`,
          );
        const out = opts.output ? createWriteStream(opts.output) : process.stdout;
        const junit = opts.format === "junit" ? new JunitReport(job.job_id, type) : null;
        if (opts.format === "csv") await write(out, csvHeader());
        for await (const line of api.lines(`/batch/jobs/${encodeURIComponent(jobId)}/results.jsonl`)) {
          if (opts.format === "jsonl") await write(out, `${line}\n`);
          else if (junit) junit.add(JSON.parse(line) as ResultEntry);
          else await write(out, csvRow(JSON.parse(line) as ResultEntry));
        }
        if (junit) await write(out, junit.toString());
        if (out !== process.stdout) {
          (out as WriteStream).end();
          await once(out, "finish");
        }
        if (job.status === "queued" || job.status === "running")
          console.error(`note: ${job.job_id} is ${job.status}; the export holds the results so far`);
        return EXIT.completed;
      }),
    );
}
