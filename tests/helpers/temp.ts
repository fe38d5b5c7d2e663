import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { mountsUnder, unmountNow } from "../../src/workspace/overlay.js";

const made: string[] = [];

/** A fresh temp directory, removed after the test. */
export function tempDir(prefix = "oc-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** `dir/name`, made (for a --project-root, which must exist). */
export function subDir(dir: string, name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}

afterEach(() => {
  for (const dir of made.splice(0)) {
    for (const at of mountsUnder(dir)) unmountNow(at); // task workspaces a test left mounted
    rmSync(dir, { recursive: true, force: true });
  }
});
