import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A PostgreSQL instance of a test's (or a benchmark's) own, on a free port: the machine's shared server is
 * never restarted nor reconfigured. No test-runner imports here, so that the benchmarks use it too.
 */

/** Where Debian puts PostgreSQL's server programs (the newest version installed). */
export function postgresBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, "bin", "pg_ctl"))) return join(base, v, "bin");
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PrivatePostgres {
  /** On 127.0.0.1. */
  url: string;
  port: number;
  /** The same database, reached at another of the addresses it listens on. */
  urlAt(host: string): string;
  /** `pg_ctl restart` with the given shutdown mode. */
  restart(mode: "fast" | "immediate"): void;
  stop(): void;
}

export interface PrivatePostgresOptions {
  /** Addresses to listen on besides 127.0.0.1 (e.g. the host ends of a test's veth pairs). */
  listen?: readonly string[];
  /** Extra `-c name=value` settings. */
  settings?: readonly string[];
}

/** Starts it (as the postgres user when run as root), trust authentication, fsync off. */
export async function startPostgresServer(o: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("no PostgreSQL server programs");
  const dir = mkdtempSync(join(tmpdir(), "oc-pg-"));
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]) => {
    const cmd = asRoot
      ? ["runuser", "-u", "postgres", "--", join(bin, program), ...args]
      : [join(bin, program), ...args];
    return execFileSync(cmd[0]!, cmd.slice(1), { stdio: "pipe", timeout: 60_000 });
  };
  if (asRoot) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  // Any address may connect (trust): only the listed ones are listened on, and they are the test's own.
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  execFileSync("sh", ["-c", `echo 'host all all 0.0.0.0/0 trust' >> ${join(data, "pg_hba.conf")}`]);
  const port = await freePort();
  const listen = ["127.0.0.1", ...(o.listen ?? [])].join(",");
  const settings = ["fsync=off", ...(o.settings ?? [])].map((s) => `-c ${s}`).join(" ");
  const options = `-p ${port} -k ${dir} -c listen_addresses=${listen} ${settings}`;
  const ctl = (...args: string[]) => run("pg_ctl", ["-D", data, "-o", options, "-w", "-t", "60", ...args]);
  ctl("-l", join(dir, "log"), "start");
  const urlAt = (host: string) => `postgres://postgres@${host}:${port}/postgres`;
  return {
    url: urlAt("127.0.0.1"),
    port,
    urlAt,
    restart: (mode) => void ctl("-l", join(dir, "log"), "-m", mode, "restart"),
    stop: () => {
      try {
        ctl("-m", "immediate", "stop");
      } catch {
        /* stopped already */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
