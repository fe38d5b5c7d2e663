import { readFileSync } from "node:fs";

/**
 * Whether a process with this pid exists and runs (EPERM: it does, under another user). A zombie — killed,
 * not yet reaped by its parent — counts as dead: it holds nothing, and a parent that never reaps would
 * otherwise keep it "alive" for good.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e: unknown) {
    return (e as { code?: string }).code === "EPERM";
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false; // no /proc (not Linux): kill(pid, 0) is all there is
  }
}
