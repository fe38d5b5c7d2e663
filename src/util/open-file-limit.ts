import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/** Descriptors kept out of the connection budget: the database, logs, command pipes, the spawner. */
export const RESERVED_DESCRIPTORS = 256;

/** This process's open-file limit (Linux, from /proc), or null where it cannot be read. */
export function openFileLimit(): OpenFileLimit | null {
  try {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (!line?.[1] || !line[2]) return null;
    const value = (v: string) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v));
    return { soft: value(line[1]), hard: value(line[2]) };
  } catch {
    return null;
  }
}

/**
 * Raises the soft open-file limit to the hard one (Node has no setrlimit; util-linux's prlimit sets it on this
 * process), so many connections do not run out of descriptors at 1024. Best effort; returns the limit after.
 */
export function raiseOpenFileLimit(): OpenFileLimit | null {
  const before = openFileLimit();
  if (!before || before.soft >= before.hard || !Number.isFinite(before.hard)) return before;
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${before.hard}:${before.hard}`], {
      stdio: "ignore",
      timeout: 5000,
    });
  } catch {
    /* no prlimit, or not allowed: keep the soft limit */
  }
  return openFileLimit();
}

/** Connections that fit in the descriptors this process may open (all of `wanted` when unknown). */
export function connectionBudget(wanted: number, limit: OpenFileLimit | null): number {
  if (!limit || !Number.isFinite(limit.soft)) return wanted;
  return Math.max(64, Math.min(wanted, limit.soft - RESERVED_DESCRIPTORS));
}
