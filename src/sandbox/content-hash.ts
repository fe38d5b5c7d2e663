import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { PathSandbox } from "./path-sandbox.js";

/** Most files a directory's hash reads; a larger tree is not hashed (its items are not cached). */
const MAX_FILES = 10_000;

/**
 * sha256 (hex) of what a path inside the project root holds: a file's bytes, or a directory's tree (each
 * entry's relative name and kind, files' bytes, links' targets — links are not followed). The path is
 * resolved beneath the root as every file operation's is (hidden directories refused, and skipped inside a
 * tree). null when nothing is there, it is neither a file nor a directory, or the tree is too large.
 */
export async function contentHash(paths: PathSandbox, input: string): Promise<string | null> {
  const target = paths.resolve(input);
  const info = await lstat(target).catch(() => null);
  if (info === null) return null;
  const hash = createHash("sha256");
  if (info.isFile()) {
    await hashFile(hash, target);
    return hash.digest("hex");
  }
  if (!info.isDirectory()) return null;
  const budget = { files: MAX_FILES };
  return (await hashTree(paths, target, "", hash, budget)) ? hash.digest("hex") : null;
}

async function hashTree(
  paths: PathSandbox,
  dir: string,
  rel: string,
  hash: Hash,
  budget: { files: number },
): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const name = rel === "" ? e.name : `${rel}/${e.name}`;
    const path = join(dir, e.name);
    if (e.isSymbolicLink()) hash.update(`link\0${name}\0${await readlink(path)}\0`);
    else if (e.isFile()) {
      if (--budget.files < 0) return false;
      hash.update(`file\0${name}\0`);
      await hashFile(hash, path);
      hash.update("\0");
    } else if (e.isDirectory()) {
      try {
        paths.resolve(path); // a hidden directory (the server's data) is left out
      } catch {
        continue;
      }
      hash.update(`dir\0${name}\0`);
      if (!(await hashTree(paths, path, name, hash, budget))) return false;
    }
  }
  return true;
}

/** Feeds a file's bytes to the hash as they are read (a large file is never held in memory whole). */
async function hashFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
