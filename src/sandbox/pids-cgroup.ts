import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A pids cgroup that caps how many processes and threads the jailed commands of this server run at once.
 * RLIMIT_NPROC does not bind root (the kernel exempts it), so a server running as root uses this instead; it
 * needs a writable cgroup file system (v1 `pids` hierarchy, or v2 with the pids controller). Null where
 * there is none: the limit then rests on RLIMIT_NPROC alone.
 */
export function createPidsCgroup(maxPids: number): string | null {
  const base = pidsHierarchyOfSelf();
  if (!base) return null;
  const dir = join(base, `ollama-coder-${process.pid}-${++created}`);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, "pids.max"), String(maxPids));
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      /* never made */
    }
    return null;
  }
  groups.add(dir);
  if (groups.size === 1) process.once("exit", removeAll);
  return dir;
}

let created = 0;
const groups = new Set<string>();

/** Empty groups are removed when the server exits (one with a process still in it stays: rmdir refuses). */
function removeAll(): void {
  for (const dir of groups) {
    try {
      rmdirSync(dir);
    } catch {
      /* still in use */
    }
  }
}

/** The directory of this process's own pids cgroup, where a child group can be made. */
function pidsHierarchyOfSelf(): string | null {
  let mounts: string;
  let self: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
    self = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return null;
  }
  for (const line of mounts.split("\n")) {
    const [, mountPoint, type, options] = line.split(" ");
    if (!mountPoint) continue;
    if (type === "cgroup" && options?.split(",").includes("pids")) {
      const path = /^\d+:(?:[^:]*,)?pids(?:,[^:]*)?:(.*)$/m.exec(self)?.[1];
      if (path !== undefined) return join(mountPoint, path);
    }
    if (type === "cgroup2") {
      const path = /^0::(.*)$/m.exec(self)?.[1];
      if (path === undefined) continue;
      const dir = join(mountPoint, path);
      try {
        if (readFileSync(join(dir, "cgroup.controllers"), "utf8").split(/\s+/).includes("pids")) return dir;
      } catch {
        /* not this one */
      }
    }
  }
  return null;
}

/** How many processes this user runs now (RLIMIT_NPROC counts them all, not only the jail's). */
export function processesOfUser(uid: number): number {
  let n = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      const threads = /^Threads:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid) n += Number(threads ?? 1);
    } catch {
      /* gone meanwhile */
    }
  }
  return n;
}
