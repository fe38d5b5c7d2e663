import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { isInside } from "./path-sandbox.js";

/**
 * What a jailed command may see of the host, whichever jail confines it (bubblewrap binds these paths, the
 * built-in jail grants them through Landlock): the system directories and the toolchains on PATH read-only,
 * of /etc only what any local user may read, a few device files, and /proc. Nothing else of the host: no
 * homes, no /var, no /run (and so no host UNIX sockets), no shared /tmp.
 */
export interface JailView {
  /** Read-only (and executable) paths: directories or files. */
  read: string[];
  /** The same system and toolchain paths, with /etc whole instead of its readable entries. */
  readWhole: string[];
  /** What to cover when /etc is bound whole: its entries that not everyone may read. */
  masked: string[];
  /** Device files opened for reading and writing. */
  devices: string[];
}

/** The system's own directories (some are symlinks into /usr on merged-/usr systems). */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] as const;

export const JAIL_DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"] as const;

/** Where toolchains keep their home, when these variables name one (commands see them too). */
export const TOOLCHAIN_HOME_VARS = [
  "PYENV_ROOT",
  "VIRTUAL_ENV",
  "JAVA_HOME",
  "GOROOT",
  "GOPATH",
  "CARGO_HOME",
  "RUSTUP_HOME",
  "NVM_DIR",
] as const;

function stat(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** World-readable (and, for a directory, world-searchable): what any local user may read anyway. */
function everyoneReads(s: Stats): boolean {
  return s.isDirectory() ? (s.mode & 0o005) === 0o005 : (s.mode & 0o004) === 0o004;
}

/**
 * What everyone may read under `dir`, said two ways. `readable`: the smallest set of paths that covers
 * exactly that (a directory whose whole tree is world-readable is one entry; one holding something private,
 * such as /etc/ssl/private or a 0600 config, is split into its readable children) — a grant list, as
 * Landlock wants. `private`: the topmost entries that are not world-readable — a mask list, for a jail that
 * binds `dir` whole and covers these (fewer mounts than binding each readable entry). Symlinks count as
 * readable themselves; a jail resolves them on use.
 */
export function everyoneReadable(dir: string, depth = 6): { readable: string[]; private: string[] } {
  const readable: string[] = [];
  const hidden: string[] = [];
  const walk = (path: string, level: number): boolean => {
    const s = stat(path);
    if (!s) return false;
    if (s.isSymbolicLink()) {
      readable.push(path);
      return true;
    }
    if (!everyoneReads(s) || (s.isDirectory() && level >= depth)) {
      hidden.push(path);
      return false;
    }
    if (!s.isDirectory()) {
      readable.push(path);
      return true;
    }
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      hidden.push(path);
      return false;
    }
    const mark = readable.length;
    let whole = true;
    for (const name of names) if (!walk(join(path, name), level + 1)) whole = false;
    if (whole) {
      readable.length = mark; // the directory as one entry instead of its children
      readable.push(path);
    }
    return whole;
  };
  walk(dir, 0);
  return { readable, private: hidden };
}

/** Home directories of this machine's users (where a PATH entry inside one names a toolchain). */
function homes(): string[] {
  const list = new Set<string>(["/root", homedir()]);
  for (const name of safeReaddir("/home")) list.add(join("/home", name));
  return [...list].filter((h) => h && h !== "/");
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The toolchain a PATH entry belongs to: inside a home, the home's top directory it lives in (~/.pyenv for
 * ~/.pyenv/shims, whose shims run ~/.pyenv/versions/…); elsewhere the parent of a bin/sbin/shims directory
 * (/usr/local/go for /usr/local/go/bin); else the entry itself.
 */
export function toolchainOf(entry: string, homeDirs: readonly string[] = homes()): string {
  const home = homeDirs.find((h) => entry !== h && isInside(h, entry));
  if (home) return join(home, entry.slice(home.length + 1).split(sep)[0]!);
  return ["bin", "sbin", "shims"].includes(basename(entry)) ? dirname(entry) : entry;
}

/** Toolchain directories the environment names: PATH entries outside the system, and *_HOME-like roots. */
export function toolchainPaths(env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  const homeDirs = homes();
  for (const entry of (env.PATH ?? "").split(":")) {
    if (!entry || !isAbsolute(entry)) continue; // a relative entry would be the workspace: already there
    const abs = resolve(entry);
    if (abs === "/" || SYSTEM_DIRS.some((d) => isInside(d, abs))) continue;
    const tool = toolchainOf(abs, homeDirs);
    if (tool !== "/" && !homeDirs.includes(tool)) out.add(tool);
  }
  for (const name of TOOLCHAIN_HOME_VARS) {
    const v = env[name];
    if (v && isAbsolute(v) && resolve(v) !== "/" && !homeDirs.includes(resolve(v))) out.add(resolve(v));
  }
  // A toolchain directory that is itself a link (a shared install): both the link and where it leads.
  for (const p of [...out]) {
    const s = stat(p);
    if (s?.isSymbolicLink()) out.add(resolve(dirname(p), readlinkSync(p)));
  }
  return [...out].filter((p) => stat(p) !== null);
}

let etcCache: ReturnType<typeof everyoneReadable> | null = null;

/** The view for this process's environment plus `extraRead` (the --jail-read paths). */
export function jailView(env: NodeJS.ProcessEnv, extraRead: readonly string[] = []): JailView {
  etcCache ??= everyoneReadable("/etc");
  const rest = [...toolchainPaths(env), ...extraRead.map((p) => resolve(p)), "/sys/devices/system/cpu"];
  const system = SYSTEM_DIRS.filter((d) => stat(d) !== null);
  return {
    read: [...new Set([...system, ...etcCache.readable, ...rest])],
    readWhole: [...new Set([...system, "/etc", ...rest])],
    masked: etcCache.private,
    devices: JAIL_DEVICES.filter((d) => stat(d) !== null),
  };
}
