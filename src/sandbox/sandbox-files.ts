import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  writeFile,
  writeFileSync,
} from "node:fs";
import { open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { CoderError, SecurityBlockError } from "../errors.js";
import type { PathSandbox } from "./path-sandbox.js";

const fsyncAsync = promisify(fsync);
const writeFileAsync = promisify(writeFile);

/** Whether the real path of an open descriptor can be read from /proc (Linux). */
const PROC_FD = process.platform === "linux" && existsSync("/proc/self/fd");

/** Files up to this size are read and written without the thread pool (but for the fsync). */
const SYNC_IO_MAX = 256 * 1024;

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

/** File operations, every one through the path sandbox. */
export class SandboxFiles {
  constructor(
    readonly paths: PathSandbox,
    private readonly limits: FileLimits = DEFAULT_FILE_LIMITS,
    private readonly readOnly = false,
  ) {}

  async read(path: string, base?: string): Promise<{ path: string; content: string; bytes: number }> {
    const small = this.readSmallSync(path, base);
    if (small !== null)
      return { path: this.paths.relative(small.real), content: small.content, bytes: small.bytes };
    const target = this.paths.resolve(path, base);
    // O_NOFOLLOW: the checked real path must not have become a link since.
    const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (e: NodeJS.ErrnoException) => {
        throw fsError(e, path);
      },
    );
    try {
      const info = await handle.stat();
      if (info.isDirectory()) throw new CoderError("invalid_input", `'${path}' is a directory; use list`);
      if (info.size > this.limits.maxReadBytes) {
        throw new CoderError(
          "invalid_input",
          `'${path}' is ${info.size} bytes, over the ${this.limits.maxReadBytes}-byte read limit`,
        );
      }
      const content = await handle.readFile("utf8");
      return { path: this.paths.relative(target), content, bytes: Buffer.byteLength(content) };
    } finally {
      await handle.close();
    }
  }

  /**
   * Small files are read synchronously, without four thread-pool round trips (the common case for source
   * files). Where /proc is mounted the containment check is made on the file as opened: open, then the real
   * path of that descriptor — no window between the check and the read, and four system calls fewer than a
   * realpath before the open. Only paths lexically inside the root are opened before that check, and never
   * for writing; a symlink inside the root that leads out is refused before a byte is read. Null when the file
   * is large and should be read asynchronously.
   */
  private readSmallSync(
    path: string,
    base: string | undefined,
  ): { real: string; content: string; bytes: number } | null {
    const lexical = this.paths.lexical(path, base);
    if (!PROC_FD || !this.paths.lexicallyInside(lexical)) {
      const real = this.paths.resolve(path, base);
      return this.readOpened(path, real, this.openOrThrow(real, path, base, constants.O_NOFOLLOW));
    }
    const fd = this.openOrThrow(lexical, path, base, 0);
    let real: string;
    try {
      real = this.paths.check(path, lexical, readlinkSync(`/proc/self/fd/${fd}`));
    } catch (e: unknown) {
      closeSync(fd);
      throw e;
    }
    return this.readOpened(path, real, fd);
  }

  private openOrThrow(target: string, path: string, base: string | undefined, flags: number): number {
    try {
      return openSync(target, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | flags);
    } catch (e: unknown) {
      const err = e as NodeJS.ErrnoException;
      // A name that does not exist: the path check says whether it was outside the root, else not found.
      if (err.code === "ENOENT") this.paths.resolve(path, base);
      throw fsError(err, path);
    }
  }

  /** Reads a small regular file from an open descriptor and closes it; null (closed) when it is large. */
  private readOpened(
    path: string,
    real: string,
    fd: number,
  ): { real: string; content: string; bytes: number } | null {
    try {
      const info = fstatSync(fd);
      if (info.isDirectory()) throw new CoderError("invalid_input", `'${path}' is a directory; use list`);
      if (!info.isFile()) throw new CoderError("invalid_input", `'${path}' is not a regular file`);
      if (info.size > SYNC_IO_MAX) return null;
      // One read of a byte more than fstat gave: a short read is the end (unless the file grew meanwhile).
      let buf = Buffer.allocUnsafe(info.size + 1);
      let length = 0;
      for (;;) {
        if (length === buf.length) {
          if (length > SYNC_IO_MAX) return null;
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, length);
          buf = bigger;
        }
        const want = buf.length - length;
        const n = readSync(fd, buf, length, want, null);
        length += n;
        if (n < want) break; // a short read of a regular file is its end
      }
      return { real, content: buf.toString("utf8", 0, length), bytes: length };
    } finally {
      closeSync(fd);
    }
  }

  /** Atomic: a temp file beside the target, then rename. Creates missing parent directories. */
  async write(
    path: string,
    content: string,
    base?: string,
  ): Promise<{ path: string; bytes: number; created: boolean }> {
    if (this.readOnly) throw new SecurityBlockError("the sandbox is read-only: writes are refused");
    const bytes = Buffer.byteLength(content);
    if (bytes > this.limits.maxWriteBytes) {
      throw new CoderError(
        "invalid_input",
        `content is ${bytes} bytes, over the ${this.limits.maxWriteBytes}-byte write limit`,
      );
    }
    const target = this.paths.resolveForWrite(path, base);
    // Small files: the file system calls run here, synchronously (a few microseconds each, against a thread-pool
    // round trip each); only the fsync, which waits for the disk, goes to the thread pool.
    const existing = lstatSync(target, { throwIfNoEntry: false }) ?? null;
    if (existing?.isDirectory()) throw new CoderError("invalid_input", `'${path}' is a directory`);
    const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
    const fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      existing ? existing.mode & 0o777 : 0o644,
    );
    try {
      if (bytes <= SYNC_IO_MAX) writeFileSync(fd, content, "utf8");
      else await writeFileAsync(fd, content, "utf8");
      await fsyncAsync(fd);
    } catch (e: unknown) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw e;
    }
    closeSync(fd);
    renameSync(temp, target);
    return { path: this.paths.relative(target), bytes, created: existing === null };
  }

  async list(
    path: string,
    base?: string,
  ): Promise<{ path: string; entries: DirEntry[]; truncated: boolean }> {
    const target = this.paths.resolve(path, base);
    const info = await stat(target).catch((e: NodeJS.ErrnoException) => {
      throw fsError(e, path);
    });
    if (!info.isDirectory()) throw new CoderError("invalid_input", `'${path}' is not a directory`);
    const dirents = await readdir(target, { withFileTypes: true });
    dirents.sort((a, b) => a.name.localeCompare(b.name));
    const shown = dirents.slice(0, this.limits.maxEntries);
    const entries = await Promise.all(
      shown.map(async (d) => {
        const kind = kindOf(d);
        const size =
          kind === "file"
            ? await stat(join(target, d.name)).then(
                (s) => s.size,
                () => null,
              )
            : null;
        return { name: d.name, kind, size };
      }),
    );
    return { path: this.paths.relative(target), entries, truncated: dirents.length > shown.length };
  }
}

function fsError(e: NodeJS.ErrnoException, path: string): Error {
  if (e.code === "ENOENT") return new CoderError("not_found", `no such file or directory: '${path}'`);
  if (e.code === "ELOOP") return new SecurityBlockError(`'${path}' is a symlink`);
  if (e.code === "EACCES" || e.code === "EPERM")
    return new CoderError("invalid_input", `permission denied: '${path}'`);
  return e;
}
