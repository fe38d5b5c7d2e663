import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bwrapArgs, probeBubblewrap } from "../src/sandbox/jail.js";
import { jailView } from "../src/sandbox/jail-view.js";
import { benchDir, fmt, median, postJson, printRows, type Row, startServer } from "./lib.js";

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
  const rounds = 3;
  for (const mode of ["off", "bwrap"] as const) {
    if (mode === "bwrap" && !probeBubblewrap().ok) {
      rows.push({ metric: "validations (--sandbox bwrap)", value: "skipped: bubblewrap unavailable" });
      continue;
    }
    for (const spawner of ["helper", "node"] as const) {
      const dataDir = join(dir, `data-${mode}-${spawner}`);
      mkdirSync(dataDir, { recursive: true });
      const s = await startServer([
        "--data-dir",
        dataDir,
        "--project-root",
        root,
        "--sandbox",
        mode,
        "--spawner",
        spawner,
      ]);
      try {
        // The comparator runs the very same command line: bare `true`, or bubblewrap with the server's jail.
        const jail =
          mode === "bwrap"
            ? [
                "bwrap",
                ...bwrapArgs({ workspace: root, hidden: [dataDir], cwd: root, view: jailView(process.env) }),
              ]
            : [];
        const validationJob = async (): Promise<number> => {
          const job = await postJson(`${s.url}/batch/validation`, {
            targets: Array.from({ length: targets }, (_, i) => ({ id: `t${i}`, path: `src/module_${i}.py` })),
            check_command: "true",
            parallel: vpar,
          });
          const done = await waitJob(s.url, job.job_id);
          return targets / (done.completed_at - done.started_at);
        };
        await validationJob(); // warm-up: a server runs for long
        // Ours and the comparator alternate, so that both see the same moments of this shared machine.
        const ours: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < rounds; i++) {
          ours.push(await validationJob());
          theirs.push(xargs(jail));
        }
        const rate = median(ours);
        const comparator = median(theirs);
        const how = `${mode === "off" ? "unjailed" : "jailed (bwrap)"}, --spawner ${spawner}`;
        rows.push(
          {
            metric: `xargs -P ${vpar} running ${mode === "off" ? "`true <path>`" : "the same bubblewrap jail around `true <path>`"}, median of ${rounds}, /s`,
            value: fmt(comparator),
          },
          {
            metric: `${targets} validations of \`true\`, parallel ${vpar}, ${how}, median of ${rounds}, /s`,
            value: fmt(rate),
          },
          {
            metric: `ollama-coder ${how} / xargs -P (same command)`,
            value: `${fmt(rate / comparator, 2)}x`,
            target: spawner === "helper" ? ">= 0.8x" : "",
            ok: spawner === "helper" ? rate / comparator >= 0.8 : undefined,
          },
        );
      } finally {
        await s.stop();
      }
    }
  }
  printRows("Sandbox: MCP reads and validations (issue 3)", rows);
}
