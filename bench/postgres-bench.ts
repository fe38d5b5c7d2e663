import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { type DelayRelay, startDelayRelay } from "../tests/helpers/delay-relay.js";
import {
  createNetLab,
  type NetLab,
  type NetNode,
  netemAvailable,
  netnsUnavailable,
} from "../tests/helpers/netns.js";
import { type PrivatePostgres, postgresBin, startPostgresServer } from "../tests/helpers/postgres-server.js";
import {
  benchDir,
  fmt,
  median,
  percentile,
  postJson,
  printRows,
  type Row,
  type Server,
  startServer,
  startWorker,
} from "./lib.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "bench", "fixtures");
const PLUGIN = join(FIXTURES, "noop-plugin.mjs");
const GRAPHILE = join(FIXTURES, "graphile-run.mjs");
const PG_BASE = process.env.OC_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** Runs of each figure; the table gives the median and the range. */
const REPEATS = Number(process.env.BENCH_PG_REPEATS ?? 3);

interface JobTimes {
  started_at: number;
  completed_at: number;
  status: string;
}

async function waitDone(url: string, jobId: string): Promise<JobTimes> {
  for (;;) {
    const j = (await (await fetch(`${url}/batch/jobs/${jobId}?include_results=false`)).json()) as JobTimes;
    if (["completed", "failed", "cancelled"].includes(j.status)) {
      if (j.status !== "completed") throw new Error(`bench job ${jobId} ended ${j.status}`);
      return j;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function withSchema(base: string, schema: string): string {
  const u = new URL(base);
  u.searchParams.set("schema", schema);
  return u.toString();
}

/** Where the worker processes run: on this host, or each in a network namespace of its own. */
interface Placement {
  /** The database as the API node (on this host) reaches it. */
  base: string;
  /** The database as worker process `i` reaches it, and the command wrapper that puts it there. */
  worker(i: number): { base: string; wrap?: (program: string, args: string[]) => [string, string[]] };
}

const LOCAL: Placement = { base: PG_BASE, worker: () => ({ base: PG_BASE }) };

interface ClusterOptions {
  workers: number;
  /** Jobs each worker process runs at once (`--workers`). */
  jobsPerWorker?: number;
  placement?: Placement;
}

async function withCluster<T>(
  o: ClusterOptions,
  fn: (api: Server, schema: string) => Promise<T>,
): Promise<T> {
  const placement = o.placement ?? LOCAL;
  const dir = benchDir("pg");
  const schema = `oc_bench_${randomBytes(4).toString("hex")}`;
  const common = (base: string) => [
    "--database-url",
    withSchema(base, schema),
    "--project-root",
    join(dir, "p"),
    "--data-dir",
    join(dir, "d"),
    "--plugin",
    PLUGIN,
  ];
  const api = await startServer(["--workers", "0", ...common(placement.base)]);
  const nodes: Server[] = [];
  try {
    for (let i = 0; i < o.workers; i++) {
      const w = placement.worker(i);
      nodes.push(await startWorker(["--workers", String(o.jobsPerWorker ?? 1), ...common(w.base)], w.wrap));
    }
    return await fn(api, schema);
  } finally {
    for (const n of nodes) await n.stop();
    await api.stop();
    const c = new pg.Client({ connectionString: placement.base });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
  }
}

interface JobSpec {
  type: string;
  n: number;
  options?: Record<string, unknown>;
  parallel: number;
  chunkSize: number;
}

/** Items/s of jobs submitted together: first start to last end over every item. */
async function jobsThroughput(o: ClusterOptions, jobs: JobSpec[]): Promise<number> {
  return withCluster(o, async (api) => {
    const ids: string[] = [];
    for (const [k, j] of jobs.entries())
      ids.push(
        (
          await postJson(`${api.url}/batch/jobs`, {
            type: j.type,
            items: Array.from({ length: j.n }, (_, i) => ({ id: `j${k}i${i}` })),
            options: j.options ?? {},
            parallel: j.parallel,
            chunk_size: j.chunkSize,
          })
        ).job_id,
      );
    const done = await Promise.all(ids.map((id) => waitDone(api.url, id)));
    const total = jobs.reduce((s, j) => s + j.n, 0);
    const first = Math.min(...done.map((d) => d.started_at));
    const last = Math.max(...done.map((d) => d.completed_at));
    return total / (last - first);
  });
}

const noop = (n: number): JobSpec => ({ type: "bench_noop", n, parallel: 256, chunkSize: 200 });

/** The I/O-bound runs: items that wait 20 ms each; each process runs one job of `parallel` PER_PROCESS. */
const PER_PROCESS = 32;
const waitJobs = (jobs: number, perJob: number): JobSpec[] =>
  Array.from({ length: jobs }, () => ({
    type: "bench_wait",
    n: perJob,
    options: { wait_ms: 20 },
    parallel: PER_PROCESS,
    chunkSize: PER_PROCESS,
  }));

/** graphile-worker 0.17 in a process of its own on the same database (a schema of its own): jobs/s. */
async function graphileThroughput(n: number): Promise<number> {
  const schema = `gw_bench_${randomBytes(4).toString("hex")}`;
  const child = spawn(process.execPath, [GRAPHILE, PG_BASE, schema, String(n), "32", "500", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  const c = new pg.Client({ connectionString: PG_BASE });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await c.end();
  const line = out.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`graphile-worker run failed (${code}): ${out}`);
  const r = JSON.parse(line) as { jobs: number; seconds: number };
  return r.jobs / r.seconds;
}

/** Submit of a one-item job on an API node to its start on an idle worker node (LISTEN/NOTIFY wake-up). */
async function claimToStart(samples: number): Promise<number[]> {
  return withCluster({ workers: 1 }, async (api, schema) => {
    const c = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schema}` });
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

/** Runs `fn` REPEATS times; "median (min–max, n runs)". */
async function repeated(fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < REPEATS; i++) out.push(await fn());
  return out;
}

const spread = (xs: number[], digits = 0): string =>
  `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}, ${xs.length} runs)`;
const ratio = (a: number[], b: number[]): string => `${fmt(median(a) / median(b), 2)}x`;

/**
 * Worker processes each in a network namespace of its own, `delayMs` each way from a PostgreSQL of the bench's
 * own (tc netem on the veth pair, or a delaying relay where the kernel has no netem). The API node and the
 * no-delay comparison use the same instance.
 */
async function withNetwork<T>(
  workers: number,
  delayMs: number,
  fn: (placement: Placement, how: string) => Promise<T>,
): Promise<T> {
  const netem = netemAvailable();
  const lab: NetLab = createNetLab(workers, netem ? delayMs : 0);
  const relays: DelayRelay[] = [];
  let db: PrivatePostgres | null = null;
  try {
    db = await startPostgresServer({ listen: netem ? lab.nodes.map((n) => n.hostAddr) : [] });
    const bases: string[] = [];
    for (const node of lab.nodes as NetNode[]) {
      if (netem) bases.push(db.urlAt(node.hostAddr));
      else {
        const relay = await startDelayRelay({ host: node.hostAddr, targetPort: db.port, delayMs });
        relays.push(relay);
        bases.push(`postgres://postgres@${node.hostAddr}:${relay.port}/postgres`);
      }
    }
    const placement: Placement = {
      base: db.url,
      worker: (i) => ({ base: bases[i]!, wrap: (p, a) => lab.command(lab.nodes[i]!, p, a) }),
    };
    return await fn(placement, netem ? "tc netem" : "a delaying relay (this kernel has no netem)");
  } finally {
    for (const r of relays) await r.close();
    db?.stop();
    lab.teardown();
  }
}

export async function postgresBench(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
  } catch {
    printRows("PostgreSQL: throughput and scale-out (issue 18)", [
      { metric: "skipped", value: `PostgreSQL unreachable at ${PG_BASE}` },
    ]);
    return;
  }
  const n = Number(process.env.BENCH_PG_ITEMS ?? 20_000);
  const perJob = Number(process.env.BENCH_PG_WAIT_ITEMS ?? 3_000);
  const rows: Row[] = [];

  // Ours and graphile-worker's one after the other in each round, so that both see the same load.
  const ours1: number[] = [];
  const gw: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    ours1.push(await jobsThroughput({ workers: 1 }, [noop(n)]));
    gw.push(await graphileThroughput(n));
  }
  rows.push(
    { metric: `no-op items/s, ${fmt(n)} items in one job, 1 worker process`, value: spread(ours1) },
    {
      metric: `graphile-worker 0.17, ${fmt(n)} no-op jobs (one per row), 1 process, concurrency 32, local queue 500, completeJobBatchDelay 0`,
      value: `${spread(gw)}; ours ${ratio(ours1, gw)} of it`,
    },
  );
  const ours2 = await repeated(() => jobsThroughput({ workers: 2 }, [noop(n)]));
  const ours4 = await repeated(() => jobsThroughput({ workers: 4 }, [noop(n)]));
  rows.push(
    { metric: "… no-op, 2 worker processes", value: `${spread(ours2)}; ${ratio(ours2, ours1)} of 1` },
    { metric: "… no-op, 4 worker processes", value: `${spread(ours4)}; ${ratio(ours4, ours1)} of 1` },
  );
  const many = await repeated(() =>
    jobsThroughput(
      { workers: 2, jobsPerWorker: 4 },
      Array.from({ length: 8 }, () => noop(n / 8)),
    ),
  );
  rows.push({
    metric: `several jobs at once: 8 no-op jobs of ${fmt(n / 8)} items, 2 worker processes running 4 jobs each, items/s`,
    value: spread(many),
  });

  // I/O-bound: 4 jobs of items that wait 20 ms, each process runs one job at a time (parallel 32).
  const w: Record<number, number[]> = {};
  for (const procs of [1, 2, 4])
    w[procs] = await repeated(() => jobsThroughput({ workers: procs }, waitJobs(4, perJob)));
  rows.push(
    {
      metric: `20 ms items, 4 jobs of ${fmt(perJob)}, parallel ${PER_PROCESS} per process, 1 worker process, items/s`,
      value: spread(w[1]!),
    },
    { metric: "… 2 worker processes", value: `${spread(w[2]!)}; ${ratio(w[2]!, w[1]!)} of 1` },
    { metric: "… 4 worker processes", value: `${spread(w[4]!)}; ${ratio(w[4]!, w[1]!)} of 1` },
  );

  const why = netnsUnavailable() ?? (postgresBin() ? null : "no PostgreSQL server programs to start one");
  if (why) rows.push({ metric: "2 ms each way (network namespaces)", value: `skipped: ${why}` });
  else {
    for (const procs of [1, 4]) {
      const near = await withNetwork(procs, 0, (p) =>
        repeated(() => jobsThroughput({ workers: procs, placement: p }, waitJobs(4, perJob))),
      );
      const [far, how] = await withNetwork(
        procs,
        2,
        async (p, how) =>
          [
            await repeated(() => jobsThroughput({ workers: procs, placement: p }, waitJobs(4, perJob))),
            how,
          ] as const,
      );
      rows.push(
        {
          metric: `20 ms items, ${procs} worker process(es) each in a network namespace, bench-owned PostgreSQL, no delay`,
          value: spread(near),
        },
        {
          metric: `… the same, 2 ms each way (${how})`,
          value: `${spread(far)}; ${ratio(far, near)} of no delay`,
        },
      );
    }
  }

  const lat = await claimToStart(20);
  rows.push(
    {
      metric: "claim-to-start latency, submit on the API node -> item started on an idle worker, p50",
      value: `${fmt(percentile(lat, 50), 1)} ms`,
    },
    { metric: "claim-to-start latency, p95 (20 samples)", value: `${fmt(percentile(lat, 95), 1)} ms` },
  );
  printRows("PostgreSQL: throughput and scale-out (issue 18)", rows);
}
