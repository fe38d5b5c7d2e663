import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CLI = join(ROOT, "dist", "cli.js");

export function benchDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `oc-bench-${name}-`));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const median = (values: number[]): number => percentile(values, 50);

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Peak resident set size of a process (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export interface Server {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export function startServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  ensureProjectRoot(args);
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        const url = m[1];
        resolve({
          child,
          url,
          stop: () =>
            new Promise<void>((r) => {
              child.once("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.once("exit", (code, sig) => {
      if (process.env.OC_BENCH_DEBUG) console.error(`server exited (${code ?? sig}):\n${out.slice(-2000)}`);
    });
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

/** A --project-root named by hand must exist (the server refuses a missing one): made here. */
function ensureProjectRoot(args: readonly string[]): void {
  const at = args.indexOf("--project-root");
  const root = at >= 0 ? args[at + 1] : undefined;
  if (root) mkdirSync(root, { recursive: true });
}

/** `node dist/cli.js worker <args>`, ready when it says so. */
export function startWorker(
  args: string[],
  /** Runs it through another command, e.g. in a network namespace (tests/helpers/netns.ts: NetLab.command). */
  wrap?: (program: string, args: string[]) => [string, string[]],
): Promise<Server> {
  ensureProjectRoot(args);
  const argv = [CLI, "worker", ...args];
  const [program, full] = wrap ? wrap(process.execPath, argv) : [process.execPath, argv];
  const child = spawn(program, full, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/worker ready/.test(out))
        resolve({
          child,
          url: "",
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              child.once("exit", () => r());
              child.kill("SIGTERM");
            }),
        });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`worker exited ${code}: ${out}`)));
  });
}

/** POST JSON on a connection of its own (a pooled one, idle while the bench ran xargs, may be gone). */
export function postJson(url: string, body: unknown): Promise<any> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const json = JSON.parse(Buffer.concat(chunks).toString());
          if ((res.statusCode ?? 500) >= 400)
            reject(new Error(`${res.statusCode} ${JSON.stringify(json).slice(0, 500)}`));
          else resolve(json);
        });
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

export interface Row {
  metric: string;
  value: string;
  target?: string;
  ok?: boolean;
}

export function printRows(title: string, rows: Row[]): void {
  console.log(`\n## ${title}\n`);
  console.log("| metric | value | target | met |");
  console.log("|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.metric} | ${r.value} | ${r.target ?? ""} | ${r.ok === undefined ? "" : r.ok ? "yes" : "**no**"} |`,
    );
}
