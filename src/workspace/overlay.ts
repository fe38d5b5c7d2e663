import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoderError } from "../errors.js";
import { runProgram } from "../sandbox/run-program.js";

/**
 * A task's workspace as an overlay mount: the job's one checkout of its base below, the task's changes in a
 * directory of its own above. Making one costs a mount, not a copy of the tree (a 5,000-file checkout took
 * 0.5-0.8 s of this VM's time per task, and eight at once queued behind each other); removing one costs an
 * unmount and the task's own files. It takes root (or CAP_SYS_ADMIN) and a kernel with overlayfs; where that
 * is missing, tasks get a checkout of their own instead.
 */

/** Runs mount(8) or umount(8) (through oc-spawner where built: the event loop never waits on them). */
async function run(program: string, args: readonly string[]): Promise<void> {
  const r = await runProgram([program, ...args], "/", { PATH: process.env.PATH, LANG: "C" });
  if (r.code !== 0)
    throw new CoderError(
      "workspace",
      `${program} ${args.join(" ")} failed: ${(r.stderr || r.error || `exit ${r.code}`).trim()}`,
    );
}

const overlayArgs = (lower: string, upper: string, work: string, at: string) => [
  "-t",
  "overlay",
  "overlay",
  "-o",
  `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
  at,
];

let usable: boolean | null = null;

/** Whether overlay mounts can be made here (asked once, by making one). */
export function overlayUsable(): boolean {
  if (usable !== null) return usable;
  usable = false;
  if (process.platform !== "linux" || process.getuid?.() !== 0) return usable;
  const dir = mkdtempSync(join(tmpdir(), "ollama-coder-overlay-probe-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d));
    const at = join(dir, "merged");
    execFileSync("mount", overlayArgs(join(dir, "lower"), join(dir, "upper"), join(dir, "work"), at), {
      stdio: "pipe",
    });
    unmountNow(at);
    usable = true;
  } catch {
    usable = false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return usable;
}

/** Mounts the overlay at `at`. */
export async function mountOverlay(lower: string, upper: string, work: string, at: string): Promise<void> {
  await run("mount", overlayArgs(lower, upper, work, at));
}

/** Unmounts if mounted (lazily: a command still inside cannot keep it). */
export async function unmount(at: string): Promise<void> {
  if (isMountPoint(at)) await run("umount", ["-l", at]);
}

/** The same, blocking: for clean-up where nothing else runs (start-up, tests' temp dirs). */
export function unmountNow(at: string): void {
  if (isMountPoint(at)) execFileSync("umount", ["-l", at], { stdio: "pipe" });
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
