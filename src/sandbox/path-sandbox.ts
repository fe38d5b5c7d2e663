import { mkdirSync, realpathSync } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { SecurityBlockError } from "../errors.js";
import { Beneath, isInside, PINNED, type Resolved, type Want } from "./beneath.js";

export { isInside };

const ENTRY: Want = { target: "entry", missing: "lexical" };
const FOR_WRITE: Want = { target: "entry", missing: "create" };
const DIRECTORY_FOR_WRITE: Want = { target: "dir", missing: "create" };

/**
 * Resolves every path an item names to a location inside the project root. Relative paths are relative to the
 * root; absolute ones must already be inside it; symlinks are followed only while they stay beneath the root
 * (see Beneath, the one rule every file operation goes through).
 */
export class PathSandbox {
  /** The root's real path. */
  readonly root: string;
  /** The resolution beneath the root. */
  readonly beneath: Beneath;

  /**
   * `hidden`: directories inside the root that stay out of reach (the server's data dir, if it is there).
   * `pinned`: whether directories are held open as paths are resolved (default: where /proc/self/fd exists).
   */
  constructor(root: string, hidden: readonly string[] = [], pinned = PINNED) {
    mkdirSync(root, { recursive: true });
    this.root = realpathSync.native(root);
    this.beneath = new Beneath(
      this.root,
      resolve(root),
      hidden.map((h) => {
        try {
          return realpathSync.native(h);
        } catch {
          return resolve(h);
        }
      }),
      pinned,
    );
  }

  /**
   * The checked absolute path, links resolved (for a name not there yet: its existing part resolved, the rest
   * as written). A name to hand on, not to open: file operations resolve again as they open (SandboxFiles).
   */
  resolve(input: string, base: string = this.root): string {
    return this.path(input, base, ENTRY);
  }

  /** The absolute path an input names, before any link is followed; refuses empty paths and NUL bytes. */
  lexical(input: string, base: string = this.root): string {
    return this.beneath.lexical(input, base);
  }

  /**
   * Like resolve, and creates the missing parent directories (beneath the root) of a file to be written; an
   * input ending in `/` or `/.` names a directory, which is created too.
   */
  resolveForWrite(input: string, base: string = this.root): string {
    const path = this.path(input, base, /\/\.?$/.test(input) ? DIRECTORY_FOR_WRITE : FOR_WRITE);
    if (path === this.root) throw new SecurityBlockError("cannot write over the project root");
    return path;
  }

  /** Resolves beneath the root (see Beneath.resolve); the directory it holds open is the caller's to close. */
  open(input: string, base: string | undefined, want: Want): Resolved {
    return this.beneath.resolve(input, base, want);
  }

  /** Path relative to the root, as shown to users and handed to commands. */
  relative(absolute: string): string {
    // A path beneath the root (what the resolution gives) needs no normalizing: cut the root off.
    if (absolute.startsWith(this.root) && absolute[this.root.length] === sep && !this.root.endsWith(sep))
      return absolute.slice(this.root.length + 1);
    return relative(this.root, absolute) || ".";
  }

  private path(input: string, base: string, want: Want): string {
    const r = this.open(input, base, want);
    r.dir.close();
    return r.path;
  }
}
