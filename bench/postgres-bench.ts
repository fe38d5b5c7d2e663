import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import {
  benchDir,
  fmt,
  percentile,
  postJson,
  printRows,
  type Row,
  type Server,
  startServer,
  startWorker,
} from "./lib.js";

const PLUGIN = join(import.meta.dirname, "..", "..", "bench", "fixtures", "noop-plugin.mjs");
const PG_BASE = process.env.OC_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function waitDone(
  url: string,
  jobId: string,
): Promise<{ started_at: number; completed_at: number; status: string }> {
  for (;;) {
    const j = (await (await fetch(`${url}/batch/jobs/${jobId}?include_results=false`)).json()) as any;
    if (["completed", "failed", "cancelled"].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function withCluster<T>(workers: number, fn: (api: Server, dbUrl: string) => Promise<T>): Promise<T> {
  const dir = benchDir("pg");
  const schema = `oc_bench_${randomBytes(4).toString("hex")}`;
  const u = new URL(PG_BASE);
  u.searchParams.set("schema", schema);
  const dbUrl = u.toString();
  const common = [
    "--database-url",
    dbUrl,
    "--project-root",
    join(dir, "p"),
    "--data-dir",
    join(dir, "d"),
    "--plugin",
    PLUGIN,
  ];
  const api = await startServer(["--workers", "0", ...common]);
  const nodes = [];
  for (let i = 0; i < workers; i++) nodes.push(await startWorker(["--workers", "1", ...common]));
  try {
    return await fn(api, dbUrl);
  } finally {
    for (const n of nodes) await n.stop();
    await api.stop();
    const c = new pg.Client({ connectionString: PG_BASE });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
  }
}

async function throughput(
  workers: number,
  n: number,
  type = "bench_noop",
  options: Record<string, unknown> = {},
): Promise<number> {
  return withCluster(workers, async (api) => {
    const job = await postJson(`${api.url}/batch/jobs`, {
      type,
      items: Array.from({ length: n }, (_, i) => ({ id: `i${i}` })),
      options,
      parallel: 256,
      chunk_size: 200,
    });
    const done = await waitDone(api.url, job.job_id);
    return n / (done.completed_at - done.started_at);
  });
}

/** Submit of a one-item job on an API node to its start on an idle worker node (LISTEN/NOTIFY wake-up). */
async function claimToStart(samples: number): Promise<number[]> {
  return withCluster(1, async (api, dbUrl) => {
    const { connectionString, schema } = (() => {
      const u = new URL(dbUrl);
      const s = u.searchParams.get("schema")!;
      u.searchParams.delete("schema");
      return { connectionString: u.toString(), schema: s };
    })();
    const c = new pg.Client({ connectionString, options: `-c search_path=${schema}` });
    await c.connect();
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      await new Promise((r) => setTimeout(r, 150)); // the worker is idle again
      const job = await postJson(`${api.url}/batch/jobs`, { type: "bench_noop", items: [{ id: "x" }] });
      await waitDone(api.url, job.job_id);
      const { rows } = await c.query(
        "SELECT i.started_at - j.created_at AS s FROM items i JOIN jobs j ON j.id = i.job_id WHERE j.id = $1",
        [job.job_id],
      );
      out.push(Number(rows[0].s) * 1000);
    }
    await c.end();
    return out;
  });
}

export async function postgresBench(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
  } catch {
    printRows("PostgreSQL: scale-out (issue 5)", [
      { metric: "skipped", value: `PostgreSQL unreachable at ${PG_BASE}` },
    ]);
    return;
  }
  const n = Number(process.env.BENCH_PG_ITEMS ?? 20_000);
  const r1 = await throughput(1, n);
  const r2 = await throughput(2, n);
  const r4 = await throughput(4, n);
  const c1 = await throughput(1, 600, "bench_cpu", { cpu_ms: 5 });
  const c2 = await throughput(2, 600, "bench_cpu", { cpu_ms: 5 });
  const lat = await claimToStart(20);
  const rows: Row[] = [
    { metric: `no-op items/s, ${fmt(n)} items, 1 worker process`, value: fmt(r1) },
    { metric: "… 2 worker processes", value: `${fmt(r2)} (${fmt(r2 / r1, 2)}x of 1)` },
    { metric: "… 4 worker processes", value: `${fmt(r4)} (${fmt(r4 / r1, 2)}x of 1)` },
    { metric: "CPU-bound items (5 ms of CPU each, 600 items), 1 worker process, items/s", value: fmt(c1) },
    { metric: "… 2 worker processes", value: `${fmt(c2)} (${fmt(c2 / c1, 2)}x of 1)` },
    {
      metric: "claim-to-start latency, submit on the API node -> item started on an idle worker, p50",
      value: `${fmt(percentile(lat, 50), 1)} ms`,
    },
    { metric: "claim-to-start latency, p95 (20 samples)", value: `${fmt(percentile(lat, 95), 1)} ms` },
  ];
  printRows("PostgreSQL: scale-out (issue 5)", rows);
}
