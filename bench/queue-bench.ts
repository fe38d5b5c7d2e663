import { statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { benchDir, fmt, peakRssMb, percentile, printRows, type Row, startServer } from "./lib.js";

const PLUGIN = join(import.meta.dirname, "..", "..", "bench", "fixtures", "noop-plugin.mjs");

/** The whole server process: submit over HTTP, no-op items, status polled from outside. */
async function ollamaCoder(
  n: number,
  parallel: number,
  chunkSize: number,
  kind: {
    type: string;
    retry?: Record<string, unknown>;
    /** Each item's fields besides its id (e.g. its depends_on). */
    item?: (i: number) => Record<string, unknown>;
  } = { type: "bench_noop" },
) {
  const dir = benchDir("queue");
  const server = await startServer([
    "--data-dir",
    join(dir, "data"),
    "--project-root",
    join(dir, "p"),
    "--plugin",
    PLUGIN,
  ]);
  try {
    const { item, ...fields } = kind;
    const items = Array.from({ length: n }, (_, i) => ({ id: `item-${i}`, ...item?.(i) }));
    const body = JSON.stringify({ ...fields, items, parallel, chunk_size: chunkSize });
    const t0 = performance.now();
    const res = await fetch(`${server.url}/batch/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const job = (await res.json()) as { job_id: string };
    const submitMs = performance.now() - t0;
    const statusMs: number[] = [];
    let status = "queued";
    let startedAt = 0;
    let completedAt = 0;
    while (status !== "completed" && status !== "failed") {
      const s0 = performance.now();
      const r = await fetch(`${server.url}/batch/jobs/${job.job_id}?include_results=false`);
      const j = (await r.json()) as { status: string; started_at: number; completed_at: number };
      statusMs.push(performance.now() - s0);
      status = j.status;
      startedAt = j.started_at;
      completedAt = j.completed_at;
      await new Promise((r) => setTimeout(r, 20));
    }
    const rss = peakRssMb(server.child.pid!);
    await server.stop();
    const db = new Database(join(dir, "data", "batch_jobs.db"));
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = statSync(join(dir, "data", "batch_jobs.db")).size;
    return {
      itemsPerSecond: n / (completedAt - startedAt),
      submitMs,
      statusP95: percentile(statusMs, 95),
      statusSamples: statusMs.length,
      rss,
      bytesPerItem: bytes / n,
      status,
    };
  } finally {
    if (server.child.exitCode === null) await server.stop();
  }
}

interface JobTimes {
  status: string;
  created_at: number;
  started_at: number | null;
}

async function postJob(url: string, body: unknown): Promise<string> {
  const res = await fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job_id: string }).job_id;
}

async function jobTimes(url: string, id: string): Promise<JobTimes> {
  return (await (await fetch(`${url}/batch/jobs/${id}?include_results=false`)).json()) as JobTimes;
}

/**
 * Preemption: five jobs of `n` items each (items that wait `sleepMs`, `parallel` at once, chunks of `chunk`)
 * hold the server's five slots; a one-item job of higher priority is submitted `reps` times, one after the
 * other, and its wait (started_at - created_at, both the server's) measured.
 */
async function priorityWait(n: number, reps: number) {
  const sleepMs = 10;
  const parallel = 8;
  const chunk = 100;
  const dir = benchDir("priority");
  const server = await startServer([
    ...["--data-dir", join(dir, "data"), "--project-root", join(dir, "p"), "--plugin", PLUGIN],
    ...["--workers", "5"],
  ]);
  try {
    const items = Array.from({ length: n }, (_, i) => ({ id: `item-${i}` }));
    const lows: string[] = [];
    for (let j = 0; j < 5; j++)
      lows.push(
        await postJob(server.url, {
          type: "bench_wait",
          items,
          options: { wait_ms: sleepMs },
          parallel,
          chunk_size: chunk,
        }),
      );
    const busy = async () =>
      (await Promise.all(lows.map((id) => jobTimes(server.url, id)))).every((j) => j.status === "running");
    while (!(await busy())) await new Promise((r) => setTimeout(r, 50));
    const waits: number[] = [];
    for (let i = 0; i < reps; i++) {
      // Let the preempted job take its slot back first: every slot busy again.
      await new Promise((r) => setTimeout(r, 200));
      const id = await postJob(server.url, {
        type: "bench_noop",
        items: [{ id: "urgent" }],
        priority: 10,
      });
      let job = await jobTimes(server.url, id);
      while (job.status !== "completed") {
        await new Promise((r) => setTimeout(r, 5));
        job = await jobTimes(server.url, id);
      }
      waits.push(((job.started_at ?? job.created_at) - job.created_at) * 1000);
    }
    const lowsLeft = (await Promise.all(lows.map((id) => jobTimes(server.url, id)))).filter(
      (j) => j.status === "running",
    ).length;
    return { waits, chunkMs: (chunk * sleepMs) / parallel, sleepMs, parallel, chunk, lowsLeft };
  } finally {
    await server.stop();
  }
}

/** The floor: claim a chunk with one UPDATE…RETURNING, complete it in one transaction, no JS async at all. */
function rawSqlite(n: number, chunkSize: number) {
  const dir = benchDir("raw");
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, job_id TEXT, seq INTEGER, payload TEXT, status TEXT, result TEXT,
    lease_owner TEXT, lease_expires_at REAL);
    CREATE INDEX q ON items (job_id, seq) WHERE status = 'queued';`);
  const insert = db.prepare("INSERT INTO items (job_id, seq, payload, status) VALUES ('j', ?, ?, 'queued')");
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(i, JSON.stringify({ id: `item-${i}` }));
  })();
  const claim = db.prepare(`UPDATE items SET status = 'running', lease_owner = 'w', lease_expires_at = 1
    WHERE id IN (SELECT id FROM items WHERE job_id = 'j' AND status = 'queued' ORDER BY seq LIMIT ?) RETURNING id, payload`);
  const complete = db.prepare(
    "UPDATE items SET status = 'succeeded', result = ?, lease_owner = NULL WHERE id = ?",
  );
  const t0 = performance.now();
  for (;;) {
    const rows = claim.all(chunkSize) as { id: number; payload: string }[];
    if (rows.length === 0) break;
    db.transaction(() => {
      for (const r of rows)
        complete.run(JSON.stringify({ status: "success", id: JSON.parse(r.payload).id }), r.id);
    })();
  }
  const s = (performance.now() - t0) / 1000;
  db.close();
  return n / s;
}

/** BullMQ on the local Redis at the given concurrency (null when Redis is unreachable). */
async function bullmq(n: number, concurrency: number): Promise<number | null> {
  const { Queue, Worker } = await import("bullmq");
  const connection = { host: "127.0.0.1", port: 6379, maxRetriesPerRequest: null, lazyConnect: false };
  const name = `oc-bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  try {
    await Promise.race([
      queue.waitUntilReady(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), 3000)),
    ]);
  } catch {
    await queue.close().catch(() => undefined);
    return null;
  }
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({
        name: "noop",
        data: { id: `item-${i + k}` },
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  let done = 0;
  let t0 = 0;
  const finished = new Promise<number>((resolve) => {
    const worker = new Worker(
      name,
      async () => {
        if (t0 === 0) t0 = performance.now();
        return { status: "success" };
      },
      { connection, concurrency, autorun: true },
    );
    worker.on("completed", () => {
      done++;
      if (done === n) {
        const s = (performance.now() - t0) / 1000;
        void worker.close().then(() => resolve(n / s));
      }
    });
  });
  const rate = await finished;
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  return rate;
}

export async function queueBench(): Promise<void> {
  const n = Number(process.env.BENCH_ITEMS ?? 100_000);
  const parallel = 8;
  const chunk = 1000;
  if (process.env.BENCH_CHAINS_ONLY === "1") {
    await chainBench(n, parallel, chunk);
    return;
  }
  console.error(`queue bench: ${n} no-op items, parallel ${parallel}, chunk_size ${chunk}`);
  const ours = await ollamaCoder(n, parallel, chunk);
  const raw = rawSqlite(n, chunk);
  const bull = await bullmq(n, 8);
  const rows: Row[] = [
    {
      metric: `no-op items/s, one ${fmt(n)}-item job (parallel ${parallel})`,
      value: fmt(ours.itemsPerSecond),
      target: ">= 50,000",
      ok: ours.itemsPerSecond >= 50_000,
    },
    { metric: "raw better-sqlite3 claim/complete loop, items/s (floor)", value: fmt(raw) },
    { metric: "ollama-coder / raw loop", value: `${fmt(ours.itemsPerSecond / raw, 2)}x` },
  ];
  if (bull === null)
    rows.push({ metric: "BullMQ (concurrency 8)", value: "skipped: Redis unreachable on 127.0.0.1:6379" });
  else
    rows.push(
      { metric: "BullMQ on local Redis, concurrency 8, items/s", value: fmt(bull) },
      {
        metric: "ollama-coder / BullMQ",
        value: `${fmt(ours.itemsPerSecond / bull, 2)}x`,
        target: ">= 2x",
        ok: ours.itemsPerSecond / bull >= 2,
      },
    );
  rows.push(
    {
      metric: `submit ${fmt(n)} items over HTTP`,
      value: `${fmt(ours.submitMs)} ms`,
      target: "< 2,000 ms",
      ok: ours.submitMs < 2000,
    },
    {
      metric: `GET status p95 while running (${ours.statusSamples} samples)`,
      value: `${fmt(ours.statusP95, 1)} ms`,
      target: "< 50 ms",
      ok: ours.statusP95 < 50,
    },
    { metric: "server peak RSS", value: `${fmt(ours.rss)} MB`, target: "< 200 MB", ok: ours.rss < 200 },
    {
      metric: "database bytes per item (after checkpoint)",
      value: fmt(ours.bytesPerItem),
      target: "<= 1,024",
      ok: ours.bytesPerItem <= 1024,
    },
  );
  printRows("Queue: no-op items (issue 2)", rows);

  const reps = Number(process.env.BENCH_PRIORITY_REPS ?? 20);
  const p = await priorityWait(n, reps);
  printRows(`Queue: priorities (issue 16), ${reps} high-priority submits`, [
    {
      metric: `a one-item priority-10 job's wait behind 5 busy ${fmt(n)}-item jobs (every slot taken), p50`,
      value: `${fmt(percentile(p.waits, 50), 1)} ms`,
    },
    {
      metric: "the same, p95",
      value: `${fmt(percentile(p.waits, 95), 1)} ms`,
      target: `< one chunk (${fmt(p.chunkMs)} ms)`,
      ok: percentile(p.waits, 95) < p.chunkMs,
    },
    { metric: "the same, max", value: `${fmt(Math.max(...p.waits), 1)} ms` },
    {
      metric: `one chunk of the busy jobs (${p.chunk} items of ${p.sleepMs} ms, ${p.parallel} at once)`,
      value: `${fmt(p.chunkMs)} ms`,
    },
    { metric: "busy jobs still running at the end (none ran out of work)", value: String(p.lowsLeft) },
  ]);
  await retryBench(parallel, chunk);
  await chainBench(n, parallel, chunk);
}

/**
 * Item dependencies (issue 17): a job of `n` no-op items where every item i with i % 10 != 0 depends on item
 * i - 1 (chains of 10), against `n` no-op items without dependencies, in the same run.
 */
async function chainBench(n: number, parallel: number, chunk: number): Promise<void> {
  console.error(`queue bench: ${n} no-op items in chains of 10 (depends_on), against ${n} without`);
  const plain = await ollamaCoder(n, parallel, chunk);
  const chained = await ollamaCoder(n, parallel, chunk, {
    type: "bench_noop",
    item: (i) => (i % 10 === 0 ? {} : { depends_on: [`item-${i - 1}`] }),
  });
  const ratio = chained.itemsPerSecond / plain.itemsPerSecond;
  printRows("Queue: item dependencies (issue 17)", [
    { metric: `no-op items/s, one ${fmt(n)}-item job, no dependencies`, value: fmt(plain.itemsPerSecond) },
    {
      metric: `items/s, ${fmt(n)} items in chains of 10 (item i depends on i - 1 unless i % 10 == 0)`,
      value: fmt(chained.itemsPerSecond),
    },
    { metric: `submit ${fmt(n)} chained items over HTTP`, value: `${fmt(chained.submitMs)} ms` },
    {
      metric: "chained / plain rate",
      value: `${fmt(ratio, 2)}x`,
      target: ">= 0.5x",
      ok: ratio >= 0.5 && chained.status === "completed",
    },
  ]);
}

/**
 * Automatic retries (issue 16): 10,000 items that each fail once with `error` and succeed on their retry
 * (backoff 0), against 10,000 no-op items with no retry, in the same run.
 */
async function retryBench(parallel: number, chunk: number): Promise<void> {
  const n = Number(process.env.BENCH_RETRY_ITEMS ?? 10_000);
  console.error(`queue bench: ${n} items failing once then retried (backoff 0), against ${n} no-op items`);
  const plain = await ollamaCoder(n, parallel, chunk);
  const retried = await ollamaCoder(n, parallel, chunk, {
    type: "bench_flaky",
    retry: { max_attempts: 2, delay_seconds: 0 },
  });
  const ratio = retried.itemsPerSecond / plain.itemsPerSecond;
  printRows("Queue: automatic retries (issue 16)", [
    { metric: `no-op items/s, one ${fmt(n)}-item job, no retry`, value: fmt(plain.itemsPerSecond) },
    {
      metric: `items/s, ${fmt(n)} items each failing once (error) then succeeding on retry, backoff 0`,
      value: fmt(retried.itemsPerSecond),
    },
    {
      metric: "retried / no-retry rate",
      value: `${fmt(ratio * 100)} %`,
      target: ">= 50 %",
      ok: ratio >= 0.5 && retried.status === "completed",
    },
  ]);
}
