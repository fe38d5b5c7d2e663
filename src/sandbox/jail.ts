import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { isInside } from "./path-sandbox.js";

export type SandboxMode = "auto" | "bwrap" | "off";

export interface JailSpec {
  /** The only writable place. */
  workspace: string;
  /** Directories hidden from the command (the server's data dir). */
  hidden: readonly string[];
  cwd: string;
}

let probed: { ok: boolean; reason: string } | null = null;

/** Whether bubblewrap is installed and can build a sandbox here (user namespaces or root). */
export function probeBubblewrap(): { ok: boolean; reason: string } {
  if (probed) return probed;
  const r = spawnSync(
    "bwrap",
    ["--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net", "--die-with-parent", "true"],
    {
      stdio: "pipe",
      timeout: 10_000,
    },
  );
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

/**
 * Prefix that runs argv in a bubblewrap jail: the whole filesystem read-only (toolchains keep working where
 * they are installed), the workspace writable, a private /tmp, no network, no capabilities, its own PID
 * namespace (every process dies with it), and the hidden directories replaced by empty tmpfs.
 */
export function bwrapArgs(spec: JailSpec): string[] {
  const args = [
    "--die-with-parent",
    "--unshare-net",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
    "--bind",
    spec.workspace,
    spec.workspace,
  ];
  for (const dir of spec.hidden) {
    if (isInside(dir, spec.workspace) || !existsSync(dir)) continue; // hiding it would hide the workspace
    // Under the private /tmp and outside the workspace it is invisible already.
    if (isInside("/tmp", dir) && !isInside(spec.workspace, dir)) continue;
    args.push("--tmpfs", dir);
  }
  args.push("--chdir", spec.cwd, "--");
  return args;
}
