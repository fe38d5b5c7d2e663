import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { runAgentTask } from "../src/agent/agent-loop.js";
import { OllamaClient } from "../src/agent/ollama-client.js";
import { resolveRunConfig } from "../src/agent/run-config.js";
import { agentProcessor } from "../src/processors/agent-processor.js";
import { QueueEvents } from "../src/queue/events.js";
import { JobQueue } from "../src/queue/job-queue.js";
import { ProcessorRegistry } from "../src/queue/processor.js";
import { WorkerPool } from "../src/queue/worker-pool.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { SqliteJobStore } from "../src/store/sqlite/sqlite-store.js";
import { FakeOllama, toolResults } from "../tests/fixtures/fake-ollama.js";
import { benchDir, fmt, median, printRows, type Row } from "./lib.js";
import { commitAll, workspaceCost, workspaceRows } from "./workspace-bench.js";

/**
 * Agent overhead per loop: a zero-latency model asking for `list_files` again and again, `loops` model calls
 * per task, `tasks` tasks one after the other; the check command's own time is taken out.
 */
async function overheadPerLoop(loops: number, tasks: number): Promise<{ perLoopMs: number; loops: number }> {
  const fake = new FakeOllama();
  await fake.start();
  fake.script("qwen2.5-coder:7b", (b) =>
    toolResults(b).length < loops - 1
      ? { toolCalls: [{ name: "list_files", arguments: { path: "." } }] }
      : { content: "done" },
  );
  const root = join(benchDir("agent"), "project");
  mkdirSync(root, { recursive: true });
  const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
  const client = new OllamaClient({ urls: [fake.url] });
  const config = resolveRunConfig({ check_command: "true", reviewer_model: null, max_loops: loops });
  let total = 0;
  let totalLoops = 0;
  for (let i = 0; i < tasks; i++) {
    const t0 = performance.now();
    const r = await runAgentTask("list forever", config, {
      client,
      sandbox,
      workspace: root,
      signal: new AbortController().signal,
    });
    total += performance.now() - t0 - (r.check?.duration_seconds ?? 0) * 1000;
    totalLoops += r.loops;
  }
  await fake.close();
  return { perLoopMs: total / totalLoops, loops: totalLoops };
}

/** The model server of the scaling runs, in its own process (as Ollama is): its URL and a way to stop it. */
async function modelServer(delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, "fixtures", "model-server.js"), String(delayMs)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return {
    url: line.trim(),
    close: async () => {
      const exited = once(child, "exit");
      child.stdin!.end();
      await exited;
    },
  };
}

/**
 * 64 tasks against a model that takes 100 ms per call, at a given `parallel`, each task in the project itself
 * (`shared`) or in a git worktree of its own; seconds.
 */
export async function scaling(
  parallel: number,
  isolation: "shared" | "worktree" = "shared",
): Promise<number> {
  const fake = await modelServer(100);
  const dir = benchDir("scale");
  const root = join(dir, "project");
  mkdirSync(root, { recursive: true });
  if (isolation === "worktree") {
    writeFileSync(join(root, "README"), "bench\n");
    commitAll(root, "start");
  }
  const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
  const client = new OllamaClient({ urls: [fake.url], maxConcurrencyPerHost: 64 });
  const store = new SqliteJobStore({ path: join(dir, "db.sqlite") });
  const registry = new ProcessorRegistry();
  registry.register(
    "batch_agent_tasks",
    agentProcessor(sandbox, client, {
      workspacesDir: join(dir, "workspaces"),
      patchesDir: join(dir, "patches"),
    }),
  );
  const events = new QueueEvents();
  const queue = new JobQueue(store, registry, events);
  const pool = new WorkerPool(store, registry, events, { maxWorkers: 1 });
  await pool.start();
  const finished = events.waitFor("job:finished");
  const job = await queue.submit({
    type: "batch_agent_tasks",
    items: Array.from({ length: 64 }, (_, i) => ({ id: `t${i}`, description: `task${i}` })),
    options: { check_command: "true", reviewer_model: null, max_loops: 4, isolation },
    chunkSize: 64,
    parallel,
  });
  const end = await finished;
  const done = await store.getJob(job.id);
  const failed =
    end.status === "completed"
      ? null
      : (await store.listItems(job.id, { limit: 1, offset: 0, status: "failed" })).items[0];
  await pool.stop();
  await store.close();
  await fake.close();
  if (end.status !== "completed" || !done?.startedAt || !done.completedAt)
    throw new Error(
      `scaling job ${end.status}: ${JSON.stringify(failed ?? done?.error ?? null).slice(0, 2000)}`,
    );
  return done.completedAt - done.startedAt;
}

export async function agentBench(): Promise<void> {
  const o = await overheadPerLoop(16, 20);
  const long = await overheadPerLoop(200, 1);
  // Parallel 1 and 8 alternate, three rounds; each round's ratio compares two runs made next to each other.
  const rounds: { one: number; eight: number; oneIsolated: number; eightIsolated: number }[] = [];
  for (let i = 0; i < 3; i++)
    rounds.push({
      one: await scaling(1),
      eight: await scaling(8),
      oneIsolated: await scaling(1, "worktree"),
      eightIsolated: await scaling(8, "worktree"),
    });
  const ratios = rounds.map((r) => r.one / r.eight);
  const ratio = median(ratios);
  const isolatedRatios = rounds.map((r) => r.oneIsolated / r.eightIsolated);
  const isolatedRatio = median(isolatedRatios);
  const workspaces = await workspaceCost(8, 40);
  const rows: Row[] = [
    {
      metric: `agent overhead per loop (zero-latency model, 20 tasks x 16 loops, check excluded)`,
      value: `${fmt(o.perLoopMs, 2)} ms`,
      target: "< 5 ms",
      ok: o.perLoopMs < 5,
    },
    {
      metric: "the same, one 200-loop task (the conversation, resent each call, grows to 400 messages)",
      value: `${fmt(long.perLoopMs, 2)} ms`,
    },
    {
      metric: "64 tasks, 100 ms model, parallel 1, three rounds",
      value: rounds.map((r) => `${fmt(r.one, 2)} s`).join(" / "),
    },
    {
      metric: "64 tasks, 100 ms model, parallel 8, three rounds",
      value: rounds.map((r) => `${fmt(r.eight, 2)} s`).join(" / "),
    },
    {
      metric: "speed-up parallel 8 / parallel 1, each round",
      value: ratios.map((r) => `${fmt(r, 2)}x`).join(" / "),
    },
    {
      metric: "speed-up parallel 8 / parallel 1, median of the rounds",
      value: `${fmt(ratio, 2)}x`,
      target: ">= 7x",
      ok: ratio >= 7,
    },
    {
      metric: "the same with each task in a git worktree of its own (isolation: worktree), each round",
      value: isolatedRatios.map((r) => `${fmt(r, 2)}x`).join(" / "),
    },
    {
      metric: "speed-up parallel 8 / parallel 1 with worktrees, median, against shared",
      value: `${fmt(isolatedRatio, 2)}x (${fmt((isolatedRatio / ratio) * 100, 0)} % of shared)`,
      target: ">= 90 % of shared",
      ok: isolatedRatio >= 0.9 * ratio,
    },
    ...workspaceRows(workspaces, 8),
  ];
  printRows("Agent: loop overhead, scaling and workspaces (issues 4 and 14)", rows);
}
