import { readFileSync, writeFileSync } from "node:fs";
import { expect } from "vitest";

/**
 * A `test_sleep` job (tests/fixtures/sleep-plugin.mjs) on a real server: each item logs "start <id> <pid>" and
 * "done <id> <pid>" to `log` (emptied here) and sleeps `sleepMs`.
 */
export async function submitSleepJob(
  url: string,
  log: string,
  total: number,
  o: { sleepMs: number; parallel: number; chunkSize: number },
): Promise<string> {
  writeFileSync(log, "");
  const res = await fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "test_sleep",
      items: Array.from({ length: total }, (_, i) => ({ id: `i${i}` })),
      options: { log_file: log, sleep_ms: o.sleepMs },
      parallel: o.parallel,
      chunk_size: o.chunkSize,
    }),
  });
  return ((await res.json()) as { job_id: string }).job_id;
}

/** How many item runs have started (re-runs included). */
export function runsStarted(log: string): number {
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("start")).length;
}

/** For each item, the pids of the processes that started a run of it, in order. */
export function startsByItem(log: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const m = /^start (\S+) (\d+)/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

/** Polls the job until it ends (the server may be unreachable for a moment meanwhile); returns it. */
export async function jobEnd(url: string, jobId: string, timeout: number): Promise<any> {
  let job: any;
  await expect
    .poll(
      async () => {
        try {
          job = await (await fetch(`${url}/batch/jobs/${jobId}?include_results=false`)).json();
        } catch {
          return "unreachable";
        }
        return job.status;
      },
      { timeout, interval: 200 },
    )
    .toMatch(/^(completed|failed|cancelled)$/);
  return job;
}
