import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readlinkSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { CoderError, NotFoundError, SecurityBlockError } from "../errors.js";

/**
 * Whether a directory can be pinned: held open, and a name inside it reached as `/proc/self/fd/<fd>/<name>` —
 * the kernel starts from that very directory, wherever it has moved and whatever now has its path (Linux).
 */
export const PINNED = process.platform === "linux" && existsSync("/proc/self/fd");

/** Linux (x86_64, arm64): a descriptor that only names a file (no permission needed, nothing opened for I/O). */
const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** A directory opened by path (links followed; its real path is checked on the descriptor). */
const PARENT_FLAGS = O_PATH | constants.O_DIRECTORY;
/** Symlinks followed in one resolution, as the kernel's limit. */
const MAX_LINKS = 40;
/** Directories created, links followed and retries (a name swapped between two steps) in one resolution. */
const MAX_STEPS = 4096;

/** Exact-or-separator containment: `/project2` is not inside `/project`. */
export function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** What is below `prefix` in `path` ("" for the prefix itself), or null when `path` is not inside it. */
function below(prefix: string, path: string): string | null {
  if (path === prefix) return "";
  const head = prefix.endsWith(sep) ? prefix : prefix + sep;
  return path.startsWith(head) ? path.slice(head.length) : null;
}

/**
 * A directory beneath the root, held open where it can be: `at(name)` names an entry of that very directory.
 * Without /proc/self/fd (not Linux) nothing is held and `at` goes through the directory's path — the best that
 * can be done there: a directory swapped for a symlink between a check and a use is not caught.
 */
export class Dir {
  constructor(
    readonly fd: number,
    /** Absolute path, every component a real directory (links resolved) when it was opened. */
    readonly path: string,
  ) {}

  /** How the system calls name this directory. */
  get via(): string {
    return this.fd >= 0 ? `/proc/self/fd/${this.fd}` : this.path;
  }

  /** How the system calls name the entry `name` of this directory. */
  at(name: string): string {
    return `${this.via}/${name}`;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
  }
}

/** What a resolution gives: the directory holding the target, held open; close it (try/finally). */
export interface Resolved {
  /** The directory holding `name`, or the target directory itself when `name` is null. */
  dir: Dir;
  /** The final name (not a symlink when it was checked; it may not exist), or null: the target is `dir`. */
  name: string | null;
  /** The target's absolute path, links resolved (for a missing target in "lexical" mode: as far as it exists). */
  path: string;
}

export interface Want {
  /**
   * "entry": the last component is a name in its directory (a file to read or write, or nothing yet); a
   * symlink there is followed. "dir": every component is a directory, opened.
   */
  target: "entry" | "dir";
  /** A missing directory: "fail" (not found), "create" it (mkdir -p), or "lexical" (the rest as written). */
  missing: "fail" | "create" | "lexical";
}

/**
 * Resolves paths beneath the project root, one rule for every file operation. The quick way first (parentOf):
 * the directory holding the target opened by path with O_PATH (which opens nothing for I/O) and accepted when
 * its real path, read from the descriptor, is beneath the root. Else the way openat2(RESOLVE_BENEATH) would:
 * component by component from the root held open, each directory opened through its held-open parent without
 * following a link, `..` taken off the resolved components (never above the root), a symlink read through its
 * parent and its target resolved in turn — refused when it leads out (absolute outside the root, or `..` above
 * it). Either way the target is then used through the held-open directory only, by name, never following a
 * link: a directory swapped for a link after the check is never followed. A target inside one of the server's
 * data directories (`hidden`) is refused, and nothing is created in one on the way (a path may pass through
 * one, as `.data/..`).
 */
export class Beneath {
  /** The root's real path, and the path as given when that differs (an absolute symlink may use either). */
  private readonly roots: string[];

  constructor(
    readonly root: string,
    given: string,
    private readonly hidden: readonly string[],
    /** Whether directories are held open (false: the fallback by path, as without /proc; for tests). */
    readonly pinned: boolean = PINNED,
  ) {
    this.roots = given === root ? [root] : [root, given];
  }

  /** The absolute path an input names, before any link is followed; refuses empty paths and NUL bytes. */
  lexical(input: string, base: string = this.root): string {
    if (typeof input !== "string" || input.length === 0) throw new SecurityBlockError("empty path");
    if (input.includes("\0")) throw new SecurityBlockError("path contains a NUL byte");
    return isAbsolute(input) ? resolve(input) : resolve(base, input);
  }

  /** What is below the root in an absolute path (either spelling of the root), or null when it is not below. */
  private belowRoot(path: string): string | null {
    for (const r of this.roots) {
      const rest = below(r, path);
      if (rest !== null) return rest;
    }
    return null;
  }

  private refuseHidden(input: string, path: string): void {
    if (this.hidden.some((h) => isInside(h, path)))
      throw new SecurityBlockError(`path '${input}' is inside the server's data directory`);
  }

  /**
   * Resolves `input` (relative to `base`, itself beneath the root) beneath the root. The returned directory is
   * held open: close it. Errors: SecurityBlockError when the path or a link leads out of the root or into a data
   * directory; CoderError not_found / invalid_input for a missing name or a file where a directory should be.
   */
  resolve(input: string, base: string | undefined, want: Want): Resolved {
    if (want.target === "entry") {
      const quick = this.parentOf(input, base);
      if (quick !== null) {
        let link: string | null;
        try {
          link = readLinkAt(quick.dir, quick.name as string, input);
        } catch (e: unknown) {
          quick.dir.close();
          throw e;
        }
        if (link === null) return quick;
        quick.dir.close(); // a link: resolved step by step below
      }
    }
    const lexical = this.lexical(input, base);
    const rest = this.belowRoot(lexical);
    if (rest === null) throw outside(input);
    if (want.target === "dir") {
      const dir = this.pin(input, lexical);
      if (dir !== null) return { dir, name: null, path: dir.path };
    }
    const pending = rest === "" ? [] : rest.split(sep).reverse();
    const stack: Dir[] = [this.openRoot()];
    let steps = 0;
    let links = 0;
    /** Continues with a link's target in place of the link, resolved from its directory (or the root). */
    const follow = (target: string) => {
      if (++links > MAX_LINKS)
        throw new SecurityBlockError(`path '${input}' cannot be resolved: too many levels of symlinks`);
      let parts = target;
      if (isAbsolute(target)) {
        const under = this.belowRoot(target);
        if (under === null) throw leadsOut(input);
        while (stack.length > 1) stack.pop()?.close();
        parts = under;
      }
      const names = parts.split("/");
      for (let i = names.length - 1; i >= 0; i--) {
        const n = names[i] as string;
        if (n !== "" && n !== ".") pending.push(n);
      }
    };
    try {
      while (pending.length > 0) {
        if (++steps > MAX_STEPS) throw new SecurityBlockError(`path '${input}' cannot be resolved`);
        const name = pending.pop() as string;
        const top = stack[stack.length - 1] as Dir;
        if (name === "..") {
          if (stack.length === 1) throw leadsOut(input);
          stack.pop()?.close();
          continue;
        }
        if (want.target === "entry" && pending.length === 0) {
          const target = readLinkAt(top, name, input);
          if (target === null) {
            const path = join(top.path, name);
            this.refuseHidden(input, path);
            return this.keep(stack, { dir: top, name, path });
          }
          follow(target);
          continue;
        }
        const child = openDirAt(top, name, input);
        if (child instanceof Dir) stack.push(child);
        else if (typeof child === "string") follow(child);
        else if (child === AGAIN) pending.push(name);
        else if (want.missing === "create") {
          this.refuseHidden(input, join(top.path, name));
          mkdirAt(top, name, input);
          pending.push(name); // now open it (never following a link that took its place)
        } else if (want.missing === "lexical") {
          const path = resolve(top.path, name, ...pending.reverse());
          if (!isInside(this.root, path)) throw leadsOut(input);
          this.refuseHidden(input, path);
          return this.keep(stack, { dir: top, name: null, path });
        } else throw notFound(input);
      }
      const dir = stack[stack.length - 1] as Dir;
      this.refuseHidden(input, dir.path);
      return this.keep(stack, { dir, name: null, path: dir.path });
    } catch (e: unknown) {
      for (const d of stack) d.close();
      throw e;
    }
  }

  /**
   * The quick way to the directory holding an entry: its parent pinned (see pin). The entry itself is the
   * caller's to open through it without following a link; a link there goes to resolve. Null when it cannot be
   * used (no /proc, the root itself, a parent not there).
   */
  parentOf(input: string, base: string | undefined): Resolved | null {
    const lexical = this.lexical(input, base);
    const rest = this.belowRoot(lexical);
    if (rest === null) throw outside(input);
    if (rest === "") return null;
    const cut = lexical.lastIndexOf(sep);
    const name = lexical.slice(cut + 1);
    const dir = this.pin(input, lexical.slice(0, cut) || sep, name);
    return dir && { dir, name, path: join(dir.path, name) };
  }

  /**
   * A directory opened by path with O_PATH — which opens nothing for I/O, so whatever the path passes through
   * has no effect — and the real path of the descriptor checked to be beneath the root (two system calls); with
   * `name`, the entry's path is checked for the data directories. Null when it cannot be used (no /proc, no such
   * directory).
   */
  private pin(input: string, lexical: string, name = ""): Dir | null {
    if (!this.pinned) return null;
    let fd: number;
    try {
      fd = openSync(lexical, PARENT_FLAGS);
    } catch {
      return null;
    }
    try {
      const real = readlinkSync(`/proc/self/fd/${fd}`);
      if (!isInside(this.root, real)) throw leadsOut(input);
      this.refuseHidden(input, name ? join(real, name) : real);
      return new Dir(fd, real);
    } catch (e: unknown) {
      closeSync(fd);
      throw e;
    }
  }

  /** Closes every directory of the stack but the one the result holds. */
  private keep(stack: Dir[], r: Resolved): Resolved {
    for (const d of stack) if (d !== r.dir) d.close();
    return r;
  }

  private openRoot(): Dir {
    return new Dir(this.pinned ? openSync(this.root, DIR_FLAGS) : -1, this.root);
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/** Returned by openDirAt when the name changed between two looks at it: look again. */
const AGAIN = Symbol("again");

/**
 * Opens the directory `name` of `dir` without following a link: the directory, held open; the link's target
 * when it is a symlink; null when there is no such name; AGAIN when it changed while being looked at.
 */
function openDirAt(dir: Dir, name: string, input: string): Dir | string | null | typeof AGAIN {
  if (dir.fd >= 0) {
    try {
      return new Dir(openSync(dir.at(name), DIR_FLAGS), join(dir.path, name));
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return null;
      if (code !== "ENOTDIR" && code !== "ELOOP") throw fileError(e, input);
    }
    // Not a directory: a symlink (O_PATH|O_NOFOLLOW says ENOTDIR for both) or anything else.
  }
  // No /proc/self/fd: a check by path, then used by path (see Dir).
  const info = lstatSync(dir.at(name), { throwIfNoEntry: false });
  if (!info) return dir.fd >= 0 ? AGAIN : null;
  if (info.isSymbolicLink()) return readLinkAt(dir, name, input) ?? AGAIN;
  if (!info.isDirectory()) throw notADirectory(input);
  return dir.fd >= 0 ? AGAIN : new Dir(-1, join(dir.path, name));
}

/** The target of the symlink `name` of `dir`; null when `name` is not a symlink or does not exist. */
function readLinkAt(dir: Dir, name: string, input: string): string | null {
  try {
    return readlinkSync(dir.at(name));
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EINVAL" || code === "ENOENT") return null;
    throw fileError(e, input);
  }
}

/** mkdir never follows a link in the last component; a name that appeared meanwhile is opened next. */
function mkdirAt(dir: Dir, name: string, input: string): void {
  try {
    mkdirSync(dir.at(name));
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(e, input);
  }
}

function outside(input: string): SecurityBlockError {
  return new SecurityBlockError(`path '${input}' is outside the project root`);
}

function leadsOut(input: string): SecurityBlockError {
  return new SecurityBlockError(`path '${input}' leads outside the project root through a symlink`);
}

function notFound(input: string): NotFoundError {
  return new NotFoundError(`no such file or directory: '${input}'`);
}

function notADirectory(input: string): CoderError {
  return new CoderError("invalid_input", `'${input}' is not a directory`);
}

/** A file system error as users see it. */
export function fileError(e: unknown, input: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") return notFound(input);
  if (err.code === "ELOOP") return new SecurityBlockError(`'${input}' is a symlink`);
  if (err.code === "ENOTDIR") return notADirectory(input);
  if (err.code === "EACCES" || err.code === "EPERM")
    return new CoderError("invalid_input", `permission denied: '${input}'`);
  return err;
}
