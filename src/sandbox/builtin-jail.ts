import { spawnSync } from "node:child_process";
import { JAIL_DEVICES, type JailView } from "./jail-view.js";
import type { CommandLimits } from "./limits.js";
import { spawnHelperPath } from "./spawn-helper.js";

/**
 * The jail that needs no package: oc-spawner (native/jail.c) confines each command before it executes with
 * Landlock, seccomp, no_new_privs, no capabilities and rlimits. This module says whether it works here and
 * turns a jail view and limits into the spec strings native/jail.h reads.
 */

export interface BuiltinProbe {
  ok: boolean;
  reason: string;
  /** The kernel's Landlock ABI (0: none). */
  abi: number;
}

let probed: BuiltinProbe | null = null;

/** Whether the built-in jail can confine a command on this machine (the helper built, Landlock on). */
export function probeBuiltinJail(): BuiltinProbe {
  if (probed) return probed;
  const helper = spawnHelperPath();
  if (!helper) {
    probed = {
      ok: false,
      abi: 0,
      reason: "the built-in jail needs oc-spawner, which is not built (Linux and a C compiler at `npm ci`)",
    };
    return probed;
  }
  const abi = Number(spawnSync(helper, ["--landlock-abi"], { encoding: "utf8" }).stdout?.trim() ?? 0) || 0;
  if (abi < 1) {
    probed = {
      ok: false,
      abi,
      reason: "the built-in jail needs Landlock (Linux 5.13 or newer with Landlock enabled)",
    };
    return probed;
  }
  const r = spawnSync(helper, ["--jail", "r:/usr", "r:/bin", "r:/lib", "r:/lib64", "--", "/bin/true"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  probed =
    r.status === 0
      ? { ok: true, abi, reason: `the built-in jail works (Landlock ABI ${abi})` }
      : { ok: false, abi, reason: `the built-in jail cannot confine a command here: ${r.stderr.trim()}` };
  return probed;
}

export interface BuiltinJailSpec {
  view: JailView;
  /** Read-write paths: the workspace and the jail's own temp directory. */
  writable: readonly string[];
  limits: CommandLimits;
  processes: ProcessLimit;
  /** A directory the jail binds on /dev/shm (only where it has a mount namespace of its own: as root). */
  shm: string | null;
}

/** How the process limit is enforced (see Sandbox): cgroups where they can be made, else RLIMIT_NPROC. */
export interface ProcessLimit {
  /** RLIMIT_NPROC to set (processes of the whole user), or null where cgroups count them. */
  nproc: number | null;
  /** Server cgroup directories: each command gets a group of its own under each, capped at the limit. */
  cgroups: readonly string[];
}

/** The process limit as spec strings (both jails). */
export function processSpec(p: ProcessLimit, max: number): string[] {
  const spec = p.cgroups.map((dir) => `cg:${dir}`);
  if (p.cgroups.length > 0) spec.push(`pids:${max}`);
  if (p.nproc !== null) spec.push(`nproc:${p.nproc}`);
  return spec;
}

/** The spec strings of native/jail.h. */
export function builtinJailSpec(s: BuiltinJailSpec): string[] {
  const spec = [
    ...s.view.read.map((p) => `r:${p}`),
    "r:/proc",
    ...s.view.devices.map((p) => `d:${p}`),
    ...s.writable.map((p) => `w:${p}`),
    ...limitSpec(s.limits),
    ...processSpec(s.processes, s.limits.processes),
  ];
  if (s.shm) spec.push(`shm:${s.shm}`);
  return spec;
}

/** The device nodes bubblewrap's --dev binds from the host: the jail's own, and the tty. */
const BWRAP_DEVICES = [...JAIL_DEVICES, "/dev/tty"];

/**
 * What bubblewrap gets from oc-spawner (it confines the rest itself): the rlimits, the setuid rule, and its
 * device nodes read-only.
 */
export function limitSpec(limits: CommandLimits): string[] {
  return [
    "nosuid:1",
    ...BWRAP_DEVICES.map((d) => `rodev:${d}`),
    `as:${limits.memory}`,
    `fsize:${limits.fileSize}`,
    `cpu:${limits.cpuSeconds}`,
    `nofile:${limits.openFiles}`,
  ];
}
