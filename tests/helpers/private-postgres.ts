import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { requirePart } from "./requirements.js";

/** Where Debian puts PostgreSQL's server programs (the newest version installed). */
function postgresBin(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, "bin", "pg_ctl"))) return join(base, v, "bin");
  return null;
}

export const hasPostgresServer = (): boolean =>
  requirePart(
    "a PostgreSQL server of the test's own",
    postgresBin() !== null,
    "PostgreSQL's server programs are not installed (apt-get install -y postgresql)",
  );

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
  url: string;
  /** `pg_ctl restart` with the given shutdown mode. */
  restart(mode: "fast" | "immediate"): void;
  stop(): void;
}

const started: PrivatePostgres[] = [];

/**
 * A PostgreSQL instance of the test's own, on a free loopback port, that the test may restart: the machine's
 * shared server must never be restarted by a test. Run as the postgres user when the tests run as root.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
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
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (...args: string[]) => run("pg_ctl", ["-D", data, "-o", options, "-w", "-t", "60", ...args]);
  ctl("-l", join(dir, "log"), "start");
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
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
  started.push(pg);
  return pg;
}

afterAll(() => {
  for (const pg of started.splice(0)) pg.stop();
});
