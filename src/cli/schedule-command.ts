import type { Command } from "commander";
import { client, readInput, run } from "./client-context.js";

/** A schedule as the server answers it (the fields the CLI shows). */
interface ScheduleView {
  name: string;
  cron: string;
  timezone: string;
  paused: boolean;
  next_run_at: number;
  last_fired_at: number | null;
  last_job_id: string | null;
}

const iso = (seconds: number | null) => (seconds === null ? "-" : new Date(seconds * 1000).toISOString());

/** One line: name, cron and zone, state, next tick, last firing and its job. */
function line(s: ScheduleView): string {
  const state = s.paused ? "paused" : `next ${iso(s.next_run_at)}`;
  const last =
    s.last_fired_at === null ? "never fired" : `last ${iso(s.last_fired_at)} → ${s.last_job_id ?? "-"}`;
  return `${s.name}  '${s.cron}' ${s.timezone}  ${state}  ${last}`;
}

const path = (name: string) => `/batch/schedules/${encodeURIComponent(name)}`;

/** `schedules` (list) and `schedule create|delete|pause|resume`: recurring jobs on a running server. */
export function addScheduleCommands(program: Command): void {
  program
    .command("schedules")
    .description("list the recurring schedules")
    .action((_opts: unknown, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const { schedules } = await api.request<{ schedules: ScheduleView[] }>("GET", "/batch/schedules");
        if (json) console.log(JSON.stringify(schedules));
        else if (schedules.length === 0) console.log("no schedules");
        else for (const s of schedules) console.log(line(s));
        return 0;
      }),
    );

  const schedule = program.command("schedule").description("create, delete, pause or resume a schedule");
  schedule
    .command("create")
    .description("submit <job.json> (a POST /batch/jobs body, with its type) at each tick of --cron")
    .argument("<name>", "the schedule's name (letters, digits, _ and -)")
    .argument("<job>", "JSON file, or - for standard input")
    .requiredOption("--cron <expr>", "five cron fields, e.g. '0 2 * * *', or an alias such as @daily")
    .option("--timezone <zone>", "IANA time zone the cron fields are read in", "UTC")
    .action((name: string, file: string, opts: { cron: string; timezone: string }, cmd: Command) =>
      run(async () => {
        const { api, json } = client(cmd);
        const body = { name, cron: opts.cron, timezone: opts.timezone, job: readInput(file) };
        const s = await api.request<ScheduleView>("POST", "/batch/schedules", body);
        console.log(json ? JSON.stringify(s) : line(s));
        return 0;
      }),
    );
  for (const [verb, description] of [
    ["delete", "delete a schedule (the jobs it made stay)"],
    ["pause", "pause a schedule"],
    ["resume", "resume a schedule from its next tick"],
  ] as const) {
    schedule
      .command(verb)
      .description(description)
      .argument("<name>")
      .action((name: string, _opts: unknown, cmd: Command) =>
        run(async () => {
          const { api, json } = client(cmd);
          const answer =
            verb === "delete"
              ? await api.request<unknown>("DELETE", path(name))
              : await api.request<ScheduleView>("POST", `${path(name)}/${verb}`);
          if (json) console.log(JSON.stringify(answer));
          else console.log(verb === "delete" ? `${name}: deleted` : line(answer as ScheduleView));
          return 0;
        }),
      );
  }
}
