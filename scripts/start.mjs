#!/usr/bin/env node
// `npm start [-- flags]`: builds dist/ only when a source is newer than it, then runs `ollama-coder <args>`
// (package.json passes `serve`) in this very process, so SIGTERM and SIGINT reach the server's own handlers
// (graceful shutdown) with no child in between to forward them to.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli.js");
/** What `npm run build` reads: a change to any of them makes dist/ stale. */
const SOURCES = ["src", "native", "tsconfig.build.json", join("scripts", "build-spawner.mjs")];

/** The newest file under `path` (itself when a file), or null when there is none. */
function newest(path) {
  if (!existsSync(path)) return null;
  const st = statSync(path);
  if (!st.isDirectory()) return { path, mtimeMs: st.mtimeMs };
  let best = null;
  for (const name of readdirSync(path)) {
    const found = newest(join(path, name));
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}

/** Why dist/ must be built, or null when it is up to date. */
function staleBecause() {
  if (!existsSync(cli)) return "dist/cli.js does not exist";
  const built = statSync(cli).mtimeMs;
  for (const source of SOURCES) {
    const found = newest(join(root, source));
    if (found && found.mtimeMs > built) return `${relative(root, found.path)} is newer than dist/`;
  }
  return null;
}

const reason = staleBecause();
if (reason) {
  console.error(`npm start: building (${reason})`);
  // npm sets npm_execpath when it runs this script; `npm` on PATH otherwise.
  const npm = process.env.npm_execpath;
  const build = npm
    ? spawnSync(process.execPath, [npm, "run", "build"], { cwd: root, stdio: ["ignore", 2, 2] })
    : spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) {
    console.error("npm start: the build failed; see above");
    process.exit(build.status ?? 1);
  }
}
process.argv = [process.execPath, cli, ...process.argv.slice(2)];
await import(pathToFileURL(cli).href);
