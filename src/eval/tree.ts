import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** Every file beneath `root`, as relative paths, sorted (directories named `.git` and `__pycache__` left out). */
export function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === ".git" || e.name === "__pycache__") continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

/** Copies the files of `from` over `to` (made when missing); links are not followed, nor copied. */
export function overlay(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  if (!existsSync(from)) return;
  for (const f of listFiles(from)) {
    mkdirSync(join(to, f, ".."), { recursive: true });
    cpSync(join(from, f), join(to, f));
  }
}

/** A file's text, or null when it is missing. */
export function readOrNull(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}
