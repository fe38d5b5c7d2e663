import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../errors.js";
import { pidAlive } from "../../util/pid-alive.js";

/** When a process started (field 22 of /proc/PID/stat), so that a recycled pid is not taken for the owner. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Alive, and the same process that took the lock (not a later one that got its pid). */
function alive(pid: number, started: string | undefined): boolean {
  if (!pidAlive(pid)) return false;
  const now = startTime(pid);
  return now === null || started === undefined || now === started;
}

const held = new Map<string, number>();

/**
 * One server per SQLite data directory: `server.lock` holds the owner's pid and start time. A second server
 * on the same directory refuses to start and names the first; a lock left by a process that is gone (kill -9)
 * is taken over. Servers of the same process share it (tests, embedders). Returns the release.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "server.lock");
  const mine = `${process.pid} ${startTime(process.pid) ?? ""}`.trim();
  const release = () => {
    const n = (held.get(file) ?? 1) - 1;
    if (n > 0) return void held.set(file, n);
    held.delete(file);
    try {
      if (readFileSync(file, "utf8").trim() === mine) unlinkSync(file);
    } catch {
      /* gone already */
    }
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${mine}\n`);
      closeSync(fd);
      held.set(file, 1);
      return release;
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let owner: string;
    try {
      owner = readFileSync(file, "utf8").trim();
    } catch {
      continue; // released meanwhile
    }
    const [pidText, started] = owner.split(" ");
    const pid = Number(pidText);
    if (owner === mine) {
      held.set(file, (held.get(file) ?? 0) + 1);
      return release;
    }
    if (Number.isInteger(pid) && pid > 0 && alive(pid, started))
      throw new ConfigError(
        `another ollama-coder server (pid ${pid}) is using the data directory ${dir}: stop it, or give this ` +
          "server a --data-dir of its own",
      );
    try {
      unlinkSync(file); // left by a process that is gone
    } catch {
      /* someone else took it over first */
    }
  }
  throw new ConfigError(`cannot lock the data directory ${dir} (server.lock keeps changing)`);
}
