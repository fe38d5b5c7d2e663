import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { builtinJailSpec, probeBuiltinJail } from "../src/sandbox/builtin-jail.js";
import { bwrapArgs, probeBubblewrap } from "../src/sandbox/jail.js";
import { jailView } from "../src/sandbox/jail-view.js";
import { DEFAULT_LIMITS } from "../src/sandbox/limits.js";
import { spawnHelperPath } from "../src/sandbox/spawn-helper.js";
import { benchDir, fmt, median, postJson, printRows, type Row, startServer } from "./lib.js";

type Server = Awaited<ReturnType<typeof startServer>>;

/** The comparator's command line: bare `true`, or the same jail around it that the server builds. */
function comparatorPrefix(mode: "off" | "bwrap" | "builtin", root: string, dataDir: string): string[] {
  const view = jailView(process.env);
  if (mode === "bwrap")
    return ["bwrap", ...bwrapArgs({ workspace: root, hidden: [dataDir], cwd: root, view })];
  if (mode === "off") return [];
  const spec = builtinJailSpec({
    view,
    writable: [root],
    limits: DEFAULT_LIMITS,
    processes: { nproc: null, cgroups: [] },
    shm: null,
  });
  return [spawnHelperPath()!, "--jail", ...spec, "--"];
}

async function waitJob(
  url: string,
  jobId: string,
): Promise<{ started_at: number; completed_at: number; status: string; result: any }> {
  for (;;) {
    const j = (await (await fetch(`${url}/batch/jobs/${jobId}?include_results=false`)).json()) as any;
    if (["completed", "failed", "cancelled"].includes(j.status)) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Bare Node: the same reads with the same number in flight. */
async function fsLoop(paths: string[], concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) await readFile(paths[next++]!, "utf8");
    }),
  );
  return paths.length / ((performance.now() - t0) / 1000);
}

/** Node's own spawn cost: the same `true <path>` with the same parallelism, nothing else. */
async function bareSpawnLoop(cwd: string, n: number, parallel: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        await new Promise((resolve) => {
          const c = spawn("true", [`src/module_${i}.py`], {
            cwd,
            detached: true,
            stdio: ["ignore", "pipe", "pipe"],
          });
          c.on("close", resolve);
        });
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export async function sandboxBench(): Promise<void> {
  const dir = benchDir("sandbox");
  const root = join(dir, "project");
  const files = 500;
  mkdirSync(join(root, "src"), { recursive: true });
  for (let i = 0; i < files; i++)
    writeFileSync(join(root, "src", `module_${i}.py`), `VALUE = ${i}\n${"# padding\n".repeat(50)}`);
  const reads = 5000;
  const parallel = 16;
  const rows: Row[] = [];

  const server = await startServer([
    "--data-dir",
    join(dir, "data"),
    "--project-root",
    root,
    "--sandbox",
    "off",
  ]);
  try {
    const operations = Array.from({ length: reads }, (_, i) => ({
      type: "read",
      path: `src/module_${i % files}.py`,
    }));
    const readJob = async (): Promise<number> => {
      const job = await postJson(`${server.url}/batch/mcp-operations`, {
        operations,
        parallel,
        chunk_size: 500,
      });
      const done = await waitJob(server.url, job.job_id);
      if (done.status !== "completed") throw new Error(`read job ${done.status}`);
      return reads / (done.completed_at - done.started_at);
    };
    // The first job of a fresh process also loads the MCP SDK and runs cold code; a server runs for long.
    const cold = await readJob();
    const warm: number[] = [];
    const loops: number[] = [];
    for (let i = 0; i < 5; i++) {
      warm.push(await readJob());
      loops.push(
        await fsLoop(
          operations.map((o) => join(root, o.path)),
          parallel,
        ),
      );
    }
    const ours = median(warm);
    const loop = median(loops);
    rows.push(
      {
        metric: `${fmt(reads)} MCP read operations through the API (parallel ${parallel}), warm server, median of 5 jobs, ops/s`,
        value: fmt(ours),
        target: ">= 10,000",
        ok: ours >= 10_000,
      },
      { metric: "… the 5 warm jobs, ops/s", value: warm.map((w) => fmt(w)).join(" / ") },
      { metric: "… the first job of a fresh server (loads the MCP SDK), ops/s", value: fmt(cold) },
      { metric: `bare Node fs.readFile loop, ${parallel} in flight, median of 5, ops/s`, value: fmt(loop) },
      {
        metric: "ollama-coder / fs loop (medians)",
        value: `${fmt(ours / loop, 2)}x`,
        target: ">= 0.5x",
        ok: ours / loop >= 0.5,
      },
    );
  } finally {
    await server.stop();
  }

  const targets = 300;
  const vpar = 8;
  const list = join(dir, "targets.txt");
  writeFileSync(list, Array.from({ length: targets }, (_, i) => `src/module_${i}.py`).join("\n"));
  const xargs = (prefix: string[]): number => {
    const t = performance.now();
    const x = spawnSync("xargs", ["-P", String(vpar), "-n", "1", ...prefix, "true"], {
      cwd: root,
      stdio: ["pipe", "ignore", "ignore"],
      input: readFileSync(list),
    });
    if (x.status !== 0) throw new Error(`xargs failed (${x.status})`);
    return targets / ((performance.now() - t) / 1000);
  };
  const spawnRate = await bareSpawnLoop(root, targets, vpar);
  const plainXargs = xargs([]);
  rows.push(
    { metric: `xargs -P ${vpar} running \`true <path>\`, validations/s`, value: fmt(plainXargs) },
    { metric: `bare Node child_process.spawn loop, ${vpar} at once, /s`, value: fmt(spawnRate) },
    { metric: "bare Node spawn / xargs -P", value: `${fmt(spawnRate / plainXargs, 2)}x` },
  );
  const rounds = 5;
  const modes = (["off", "bwrap", "builtin"] as const).filter((mode) => {
    const probe = mode === "bwrap" ? probeBubblewrap() : mode === "builtin" ? probeBuiltinJail() : null;
    if (probe && !probe.ok)
      rows.push({ metric: `validations (--sandbox ${mode})`, value: `skipped: ${probe.reason}` });
    return !probe || probe.ok;
  });
  const runs: {
    mode: (typeof modes)[number];
    spawner: "helper" | "node";
    server: Server;
    prefix: string[];
  }[] = [];
  try {
    for (const mode of modes)
      for (const spawner of ["helper", "node"] as const) {
        const dataDir = join(dir, `data-${mode}-${spawner}`);
        mkdirSync(dataDir, { recursive: true });
        const server = await startServer([
          ...["--data-dir", dataDir, "--project-root", root, "--sandbox", mode, "--spawner", spawner],
        ]);
        runs.push({ mode, spawner, server, prefix: comparatorPrefix(mode, root, dataDir) });
      }
    const validationJob = async (url: string): Promise<number> => {
      const job = await postJson(`${url}/batch/validation`, {
        targets: Array.from({ length: targets }, (_, i) => ({ id: `t${i}`, path: `src/module_${i}.py` })),
        check_command: "true",
        parallel: vpar,
      });
      const done = await waitJob(url, job.job_id);
      if (done.status !== "completed") throw new Error(`validation job ${done.status}`);
      return targets / (done.completed_at - done.started_at);
    };
    for (const r of runs) await validationJob(r.server.url); // warm-up: a server runs for long
    // Every configuration and its comparator take turns in each round, so that all see the same moments of
    // this shared machine.
    const ours = runs.map(() => [] as number[]);
    const theirs = runs.map(() => [] as number[]);
    for (let i = 0; i < rounds; i++)
      for (const [k, r] of runs.entries()) {
        ours[k]!.push(await validationJob(r.server.url));
        theirs[k]!.push(xargs(r.prefix));
      }
    const label = { off: "unjailed", bwrap: "jailed (bwrap)", builtin: "jailed (built-in)" } as const;
    for (const [k, r] of runs.entries()) {
      const rate = median(ours[k]!);
      const comparator = median(theirs[k]!);
      const how = `${label[r.mode]}, --spawner ${r.spawner}`;
      rows.push(
        {
          metric: `xargs -P ${vpar} running ${r.mode === "off" ? "`true <path>`" : `the same ${r.mode === "bwrap" ? "bubblewrap" : "built-in"} jail around \`true <path>\``}, median of ${rounds}, /s`,
          value: fmt(comparator),
        },
        {
          metric: `${targets} validations of \`true\`, parallel ${vpar}, ${how}, median of ${rounds}, /s`,
          value: fmt(rate),
        },
        {
          metric: `ollama-coder ${how} / xargs -P (same command)`,
          value: `${fmt(rate / comparator, 2)}x`,
        },
      );
    }
    // The jails' cost: each jail's validations against unjailed ones, round by round (oc-spawner).
    const base = runs.findIndex((r) => r.mode === "off" && r.spawner === "helper");
    for (const [k, r] of runs.entries()) {
      if (r.mode === "off" || r.spawner !== "helper" || base < 0) continue;
      const ratios = ours[k]!.map((v, i) => v / ours[base]![i]!);
      const ratio = median(ratios);
      rows.push({
        metric: `validations ${label[r.mode]} / unjailed (--spawner helper), median of ${rounds} paired rounds`,
        value: `${fmt(ratio, 2)}x (rounds: ${ratios.map((x) => fmt(x, 2)).join(" / ")})`,
        target: r.mode === "builtin" ? ">= 0.8x" : "",
        ok: r.mode === "builtin" ? ratio >= 0.8 : undefined,
      });
    }
  } finally {
    for (const r of runs) await r.server.stop();
  }
  printRows("Sandbox: MCP reads, validations and the jails' cost (issues 3 and 10)", rows);
}
