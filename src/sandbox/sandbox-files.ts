import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  fsync,
  lstatSync,
  openSync,
  readFile,
  readSync,
  renameSync,
  rmSync,
  type Stats,
  unlinkSync,
  writeFile,
  writeFileSync,
} from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { promisify } from "node:util";
import { CoderError, SecurityBlockError } from "../errors.js";
import { fileError, type Resolved, type Want } from "./beneath.js";
import type { PathSandbox } from "./path-sandbox.js";

const fsyncAsync = promisify(fsync);
const writeFileAsync = promisify(writeFile);
const readFileAsync = promisify(readFile);

/** Files up to this size are read and written without the thread pool (but for the fsync). */
const SYNC_IO_MAX = 256 * 1024;

/** Opening never blocks (a FIFO), takes a terminal or follows a link. */
const READ_FLAGS_NOFOLLOW =
  constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW;

const FILE: Want = { target: "entry", missing: "fail" };
const FILE_FOR_WRITE: Want = { target: "entry", missing: "create" };
const DIRECTORY: Want = { target: "dir", missing: "fail" };

export type EntryKind = "file" | "directory" | "symlink" | "other";

export interface DirEntry {
  name: string;
  kind: EntryKind;
  size: number | null;
}

export interface FileLimits {
  /** Largest file read_file returns (default 10 MiB). */
  maxReadBytes: number;
  /** Largest content write_file accepts (default 10 MiB). */
  maxWriteBytes: number;
  /** Most entries list_files returns (default 10,000). */
  maxEntries: number;
}

export const DEFAULT_FILE_LIMITS = {
  maxReadBytes: 10 * 1024 * 1024,
  maxWriteBytes: 10 * 1024 * 1024,
  maxEntries: 10_000,
} satisfies FileLimits;

function kindOf(s: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (s.isSymbolicLink()) return "symlink";
  if (s.isDirectory()) return "directory";
  if (s.isFile()) return "file";
  return "other";
}

/** File operations, every one resolved beneath the root as it opens (see Beneath). */
export class SandboxFiles {
  constructor(
    readonly paths: PathSandbox,
    private readonly limits: FileLimits = DEFAULT_FILE_LIMITS,
    private readonly readOnly = false,
  ) {}

  /** Reads a text file; small files synchronously (the common case for source files), large ones in the pool. */
  async read(path: string, base?: string): Promise<{ path: string; content: string; bytes: number }> {
    const { fd, real } = this.openForRead(path, base);
    try {
      const size = this.checkReadable(path, fstatSync(fd));
      if (size <= SYNC_IO_MAX) return this.readRest(path, real, fd, size);
      const content = await readFileAsync(fd, "utf8");
      return { path: this.paths.relative(real), content, bytes: Buffer.byteLength(content) };
    } finally {
      closeSync(fd);
    }
  }

  /** Like read, synchronously whatever the size. */
  readSync(path: string, base?: string): { path: string; content: string; bytes: number } {
    const { fd, real } = this.openForRead(path, base);
    try {
      return this.readRest(path, real, fd, this.checkReadable(path, fstatSync(fd)));
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Opens a file to read, never following a link in its last component and never opening anything outside the
   * root: the quick way (its directory pinned by Beneath.parentOf, the hot path) when it applies, else the
   * resolution step by step, which also follows links that stay inside and says why a path is refused.
   */
  private openForRead(path: string, base: string | undefined): { fd: number; real: string } {
    const quick = this.paths.beneath.parentOf(path, base);
    if (quick !== null) {
      try {
        return { fd: openSync(quick.dir.at(quick.name as string), READ_FLAGS_NOFOLLOW), real: quick.path };
      } catch {
        // a link, or not there: resolved below
      } finally {
        quick.dir.close();
      }
    }
    return this.within(path, base, FILE, (r) => {
      if (r.name === null) throw isADirectory(path);
      try {
        return { fd: openSync(r.dir.at(r.name), READ_FLAGS_NOFOLLOW), real: r.path };
      } catch (e: unknown) {
        throw fileError(e, path);
      }
    });
  }

  /** The size of a file that may be read; refuses directories, non-regular files and files over the limit. */
  private checkReadable(path: string, info: Stats): number {
    if (info.isDirectory()) throw isADirectory(path);
    if (!info.isFile()) throw new CoderError("invalid_input", `'${path}' is not a regular file`);
    if (info.size > this.limits.maxReadBytes) throw this.overReadLimit(path, info.size);
    return info.size;
  }

  private overReadLimit(path: string, size: number): CoderError {
    return new CoderError(
      "invalid_input",
      `'${path}' is ${size} bytes, over the ${this.limits.maxReadBytes}-byte read limit`,
    );
  }

  /** Reads an open regular file of `size` bytes (per fstat) to its end, synchronously. */
  private readRest(
    path: string,
    real: string,
    fd: number,
    size: number,
  ): { path: string; content: string; bytes: number } {
    // One read of a byte more than fstat gave: a short read is the end (unless the file grew meanwhile).
    let buf = Buffer.allocUnsafe(size + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > this.limits.maxReadBytes) throw this.overReadLimit(path, length);
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const want = buf.length - length;
      const n = readSync(fd, buf, length, want, null);
      length += n;
      if (n < want) break; // a short read of a regular file is its end
    }
    return { path: this.paths.relative(real), content: buf.toString("utf8", 0, length), bytes: length };
  }

  /**
   * Atomic: a temp file beside the target, then rename — both through the target's directory held open, so
   * neither lands anywhere else. Creates missing parent directories (beneath the root); keeps the old mode.
   */
  async write(
    path: string,
    content: string,
    base?: string,
  ): Promise<{ path: string; bytes: number; created: boolean }> {
    this.refuseReadOnly();
    const bytes = Buffer.byteLength(content);
    if (bytes > this.limits.maxWriteBytes) {
      throw new CoderError(
        "invalid_input",
        `content is ${bytes} bytes, over the ${this.limits.maxWriteBytes}-byte write limit`,
      );
    }
    return this.within(path, base, FILE_FOR_WRITE, async ({ dir, name, path: target }) => {
      if (name === null) {
        if (target === this.paths.root) throw new SecurityBlockError("cannot write over the project root");
        throw new CoderError("invalid_input", `'${path}' is a directory`);
      }
      // Small files: the file system calls run here, synchronously (a few microseconds each, against a
      // thread-pool round trip each); only the fsync, which waits for the disk, goes to the thread pool.
      const existing = lstatSync(dir.at(name), { throwIfNoEntry: false }) ?? null;
      if (existing?.isDirectory()) throw new CoderError("invalid_input", `'${path}' is a directory`);
      const temp = dir.at(`.${name}.${randomBytes(6).toString("hex")}.tmp`);
      const fd = openSync(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        existing?.isFile() ? existing.mode & 0o777 : 0o644,
      );
      try {
        try {
          if (bytes <= SYNC_IO_MAX) writeFileSync(fd, content, "utf8");
          else await writeFileAsync(fd, content, "utf8");
          await fsyncAsync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, dir.at(name));
      } catch (e: unknown) {
        rmSync(temp, { force: true });
        throw e;
      }
      return { path: this.paths.relative(target), bytes, created: existing === null };
    });
  }

  /** Removes a file (not a directory); a name that is not there is no error. */
  remove(path: string, base?: string): void {
    this.refuseReadOnly();
    try {
      this.within(path, base, FILE, ({ dir, name }) => {
        if (name === null) throw isADirectory(path);
        unlinkSync(dir.at(name));
      });
    } catch (e: unknown) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "not_found") return;
      throw e;
    }
  }

  /** Lists a directory, held open while its entries are read and looked at. */
  async list(
    path: string,
    base?: string,
  ): Promise<{ path: string; entries: DirEntry[]; truncated: boolean }> {
    return this.within(path, base, DIRECTORY, async ({ dir, path: target }) => {
      const dirents = await readdir(dir.via, { withFileTypes: true });
      dirents.sort((a, b) => a.name.localeCompare(b.name));
      const shown = dirents.slice(0, this.limits.maxEntries);
      const entries = await Promise.all(
        shown.map(async (d) => {
          const kind = kindOf(d);
          const size =
            kind === "file"
              ? await lstat(dir.at(d.name)).then(
                  (s) => s.size,
                  () => null,
                )
              : null;
          return { name: d.name, kind, size };
        }),
      );
      return { path: this.paths.relative(target), entries, truncated: dirents.length > shown.length };
    });
  }

  private refuseReadOnly(): void {
    if (this.readOnly) throw new SecurityBlockError("the sandbox is read-only: writes are refused");
  }

  /**
   * Runs `use` on `path` resolved beneath the root, and closes what the resolution holds open (once the promise
   * settles, when `use` returns one).
   */
  private within<T>(path: string, base: string | undefined, want: Want, use: (r: Resolved) => T): T {
    const r = this.paths.open(path, base, want);
    let out: T;
    try {
      out = use(r);
    } catch (e: unknown) {
      r.dir.close();
      throw e;
    }
    if (out instanceof Promise) return out.finally(() => r.dir.close()) as T;
    r.dir.close();
    return out;
  }
}

function isADirectory(path: string): CoderError {
  return new CoderError("invalid_input", `'${path}' is a directory; use list`);
}
