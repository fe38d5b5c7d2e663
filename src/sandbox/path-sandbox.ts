import { lstatSync, mkdirSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { SecurityBlockError } from "../errors.js";

/** Exact-or-separator containment: `/project2` is not inside `/project`. */
export function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root.endsWith(sep) ? root : root + sep);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves every path an item names to a real location inside the project root. Relative paths are relative
 * to the root; absolute ones must already be inside it; the realpath of the target (or, for a file not yet
 * there, of its nearest existing parent) must stay inside, so no symlink leads out.
 */
export class PathSandbox {
  /** The root's real path. */
  readonly root: string;

  private readonly hidden: string[];

  /** `hidden`: directories inside the root that stay out of reach (the server's data dir, if it is there). */
  constructor(root: string, hidden: readonly string[] = []) {
    mkdirSync(root, { recursive: true });
    this.root = realpathSync.native(root);
    this.hidden = hidden.map((h) => {
      try {
        return realpathSync.native(h);
      } catch {
        return resolve(h);
      }
    });
  }

  /** The checked absolute path (its real path when it exists). */
  resolve(input: string, base: string = this.root): string {
    const lexical = this.lexical(input, base);
    return this.check(input, lexical, this.realOf(lexical));
  }

  /** The absolute path an input names, before any link is followed; refuses empty paths and NUL bytes. */
  lexical(input: string, base: string = this.root): string {
    if (typeof input !== "string" || input.length === 0) throw new SecurityBlockError("empty path");
    if (input.includes("\0")) throw new SecurityBlockError("path contains a NUL byte");
    return isAbsolute(input) ? resolve(input) : resolve(base, input);
  }

  /** Whether a lexical path stays inside the root before links are followed (no system call). */
  lexicallyInside(lexical: string): boolean {
    return isInside(this.root, lexical);
  }

  /** Refuses a real path outside the root or inside a hidden directory; returns it otherwise. */
  check(input: string, lexical: string, real: string): string {
    if (!isInside(this.root, real)) {
      throw new SecurityBlockError(
        isInside(this.root, lexical)
          ? `path '${input}' leads outside the project root through a symlink`
          : `path '${input}' is outside the project root`,
      );
    }
    if (this.hidden.some((h) => isInside(h, real))) {
      throw new SecurityBlockError(`path '${input}' is inside the server's data directory`);
    }
    return real;
  }

  /** Like resolve, and creates the missing parent directories (inside the root) of a file to be written. */
  resolveForWrite(input: string, base: string = this.root): string {
    const target = this.resolve(input, base);
    if (target === this.root) throw new SecurityBlockError("cannot write over the project root");
    mkdirSync(dirname(target), { recursive: true });
    // The parents now exist: check again, in case one was swapped for a link meanwhile.
    const parent = realpathSync.native(dirname(target));
    if (!isInside(this.root, parent))
      throw new SecurityBlockError(`path '${input}' leads outside the project root`);
    return resolve(parent, target.slice(dirname(target).length + 1));
  }

  /** Path relative to the root, as shown to users and handed to commands. */
  relative(absolute: string): string {
    return relative(this.root, absolute) || ".";
  }

  /**
   * The real path of `path`: realpath when it exists; for a dangling symlink an error; else the real path of
   * the nearest existing parent joined with the rest.
   */
  private realOf(path: string): string {
    try {
      return realpathSync.native(path);
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        throw new SecurityBlockError(`path '${path}' cannot be resolved`);
    }
    let existing = path;
    const rest: string[] = [];
    while (!exists(existing)) {
      const parent = dirname(existing);
      if (parent === existing) break;
      rest.unshift(existing.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      existing = parent;
    }
    let real: string;
    try {
      real = realpathSync.native(existing);
    } catch {
      throw new SecurityBlockError(`path '${path}' goes through a broken symlink`);
    }
    return rest.length ? resolve(real, ...rest) : real;
  }
}
