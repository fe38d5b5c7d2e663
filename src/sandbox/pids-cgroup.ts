import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { pidAlive } from "../util/pid-alive.js";

/**
 * The server's pids cgroup: oc-spawner makes a group of its own for each command under it (`c<pid>`, with the
 * command's process limit; see native/jail.c), so that one command's fork bomb exhausts its own budget and
 * not the others'. RLIMIT_NPROC does not bind root (the kernel exempts it), so a server running as root uses
 * this; it needs a writable cgroup file system (v1 `pids` hierarchy, or v2 with the pids controller). Null
 * where there is none: the limit then rests on RLIMIT_NPROC alone.
 */
export function createPidsCgroup(): string | null {
  const base = pidsHierarchyOfSelf();
  if (!base) return null;
  removeStale(base);
  const dir = join(base, `ollama-coder-${process.pid}-${++created}`);
  try {
    mkdirSync(dir);
  } catch {
    return null;
  }
  groups.add(dir);
  if (groups.size === 1) process.once("exit", removeAll);
  return dir;
}

/** A command's own group under a server's (as native/jail.c names it). */
export function commandGroup(dir: string, pid: number): string {
  return join(dir, `c${pid}`);
}

/**
 * After a command started through `oc-spawner --jail` (Node's spawn) ended: its own groups go (the helper does
 * this itself for the commands it starts). Its last processes may take a moment to die, so this tries again.
 */
export function removeCommandGroups(dirs: readonly string[], pid: number, tries = 50): void {
  const left = dirs.filter((dir) => !tryRmdir(commandGroup(dir, pid)) && existsSync(commandGroup(dir, pid)));
  if (left.length > 0 && tries > 1) setTimeout(() => removeCommandGroups(left, pid, tries - 1), 100).unref();
}

let created = 0;
const groups = new Set<string>();

/** The server cgroups this process made (for diagnostics and tests). */
export function createdPidsCgroups(): string[] {
  return [...groups];
}

/**
 * The server's groups are removed when it exits, with any command group left in them (rmdir refuses a group
 * that still has a process).
 */
function removeAll(): void {
  for (const dir of groups) {
    for (const name of safeList(dir)) if (/^c\d+$/.test(name)) tryRmdir(join(dir, name));
    tryRmdir(dir);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Groups left by servers that were killed outright (no exit handler ran): removed once they are empty. */
function removeStale(base: string): void {
  for (const name of safeList(base)) {
    const pid = Number(/^ollama-coder-(\d+)-\d+$/.exec(name)?.[1] ?? 0);
    if (pid === 0 || pid === process.pid || pidAlive(pid)) continue;
    const dir = join(base, name);
    for (const child of safeList(dir)) if (/^c\d+$/.test(child)) tryRmdir(join(dir, child));
    tryRmdir(dir);
  }
}

/** Removes an empty directory (a cgroup without processes); false when it cannot (yet). */
export function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
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
