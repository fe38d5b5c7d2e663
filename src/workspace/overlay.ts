import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A task's workspace as an overlay mount: the job's one checkout of its base below, the task's changes in a
 * directory of its own above. Making one costs a mount, not a copy of the tree (a 5,000-file checkout took
 * 0.5-0.8 s of this VM's time per task, and eight at once queued behind each other); removing one costs an
 * unmount and the task's own files. It takes root (or CAP_SYS_ADMIN) and a kernel with overlayfs; where that
 * is missing, tasks get a checkout of their own instead.
 */

let usable: boolean | null = null;

/** Whether overlay mounts can be made here (asked once, by making one). */
export function overlayUsable(): boolean {
  if (usable !== null) return usable;
  usable = false;
  if (process.platform !== "linux" || process.getuid?.() !== 0) return usable;
  const dir = mkdtempSync(join(tmpdir(), "ollama-coder-overlay-probe-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d));
    mountOverlay(join(dir, "lower"), join(dir, "upper"), join(dir, "work"), join(dir, "merged"));
    unmount(join(dir, "merged"));
    usable = true;
  } catch {
    usable = false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return usable;
}

export function mountOverlay(lower: string, upper: string, work: string, at: string): void {
  execFileSync(
    "mount",
    ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, at],
    {
      stdio: "pipe",
    },
  );
}

/** Unmounts if mounted (lazily: a command still inside cannot keep it). */
export function unmount(at: string): void {
  if (!isMountPoint(at)) return;
  execFileSync("umount", ["-l", at], { stdio: "pipe" });
}

/** Mount points at or under `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  if (!existsSync("/proc/self/mountinfo")) return [];
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) =>
      l.split(" ")[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
    )
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(prefix)))
    .sort((a, b) => b.length - a.length);
}

function isMountPoint(at: string): boolean {
  return mountsUnder(at).includes(at);
}
