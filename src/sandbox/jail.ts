import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { type JailView, SYSTEM_DIRS } from "./jail-view.js";
import { isInside } from "./path-sandbox.js";

/** auto: bubblewrap, else the built-in jail, else commands are refused; off: no jail (said loudly). */
export const SANDBOX_MODES = ["auto", "bwrap", "builtin", "off"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** The uid and gid a bubblewrap-jailed command has inside its user namespace (nobody). */
export const JAIL_UID = 65534;

export interface JailSpec {
  /** The only writable place. */
  workspace: string;
  /** Directories hidden from the command (the server's data dir). */
  hidden: readonly string[];
  cwd: string;
  /** What of the host the command sees, read-only. */
  view: JailView;
}

let probed: { ok: boolean; reason: string } | null = null;

/** The namespace flags every bubblewrap jail uses (the probe tries exactly these). */
const BWRAP_ISOLATION = [
  "--die-with-parent",
  "--unshare-user",
  "--unshare-ipc",
  "--unshare-pid",
  "--unshare-net",
  "--unshare-uts",
  "--unshare-cgroup-try",
  "--uid",
  String(JAIL_UID),
  "--gid",
  String(JAIL_UID),
  "--cap-drop",
  "ALL",
  // No user namespace inside: one would give the command root over its own mounts (bubblewrap 0.8+).
  "--disable-userns",
];

/** Whether bubblewrap is installed and can build its sandbox here (user namespaces, or root). */
export function probeBubblewrap(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const r = spawnSync("bwrap", [...BWRAP_ISOLATION, ...SYSTEM_DIRS.flatMap(roEntry), "true"], {
    stdio: "pipe",
    timeout: 10_000,
  });
  if (r.error)
    probed = {
      ok: false,
      reason: `bubblewrap not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`,
    };
  else if (r.status !== 0)
    probed = { ok: false, reason: `bubblewrap cannot create a sandbox here: ${r.stderr.toString().trim()}` };
  else probed = { ok: true, reason: "bubblewrap works" };
  return probed;
}

/** `--symlink` for a link (it stays a link, resolved inside the jail), `--ro-bind-try` for the rest. */
function roEntry(path: string): string[] {
  try {
    if (lstatSync(path).isSymbolicLink()) return ["--symlink", readlinkSync(path), path];
  } catch {
    return [];
  }
  return ["--ro-bind-try", path, path];
}

/**
 * Prefix that runs argv in a bubblewrap jail built from nothing: only the jail view read-only (system
 * directories, /etc with what not everyone may read covered, the toolchains), the workspace writable, a private /tmp, a
 * minimal /dev, its own /proc; no network, no capabilities, uid 65534 in its own user namespace, its own PID
 * namespace (every process dies with it), and the hidden directories inside the workspace replaced by empty
 * tmpfs.
 */
export function bwrapArgs(spec: JailSpec): string[] {
  return [...bwrapRoot(spec), "--chdir", spec.cwd, "--"];
}

/** Everything of bwrapArgs but the working directory: the same for every command of a sandbox. */
export function bwrapRoot(spec: Omit<JailSpec, "cwd">): string[] {
  const args = [...BWRAP_ISOLATION];
  for (const path of spec.view.readWhole) args.push(...roEntry(path));
  // /etc is bound whole (one mount, not one per entry); what not everyone may read in it is covered.
  for (const path of spec.view.masked)
    args.push(...(lstatSync(path).isDirectory() ? ["--tmpfs", path] : ["--ro-bind", "/dev/null", path]));
  // The jail's uid maps to the server's user (root, when it runs as root), which owns the host's kernel
  // settings and device nodes: /proc/sys is bound read-only, and oc-spawner binds the device nodes read-only
  // before bubblewrap starts (see limitSpec), so that their mode and times cannot be changed.
  args.push("--dev", "/dev");
  args.push("--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys");
  args.push("--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger");
  args.push("--tmpfs", "/tmp", "--bind", spec.workspace, spec.workspace);
  for (const dir of spec.hidden) {
    // Outside the workspace nothing is there unless bound; inside, an empty tmpfs covers it.
    if (isInside(dir, spec.workspace) || !isInside(spec.workspace, dir) || !existsSync(dir)) continue;
    args.push("--tmpfs", dir);
  }
  // The jail's own root (where bubblewrap made the mount points) is read-only too: nothing can be made beside
  // the workspace and /tmp.
  args.push("--remount-ro", "/");
  return args;
}
