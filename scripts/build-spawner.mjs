// Builds native/oc-spawner.c (with its jail, native/jail.c) into dist/native/oc-spawner (run by `npm run build`, so by `npm ci` and `npm start`).
// Without Linux or a C compiler the server still works: commands then start with Node's spawn, which is slower.
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sources = ["oc-spawner.c", "jail.c", "jail.h"].map((f) => join(root, "native", f));
const target = join(root, "dist", "native", "oc-spawner");
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

if (process.platform !== "linux") {
  console.log("oc-spawner: not built (Linux only); commands start with Node's spawn");
  process.exit(0);
}
if (sources.every((source) => mtime(target) >= mtime(source))) process.exit(0);
mkdirSync(dirname(target), { recursive: true });
const compiler = process.env.CC || "cc";
const temp = `${target}.${process.pid}.tmp`;
const r = spawnSync(
  compiler,
  ["-O2", "-std=c11", "-Wall", "-Wextra", "-o", temp, ...sources.filter((f) => f.endsWith(".c"))],
  {
    stdio: "inherit",
  },
);
if (r.error || r.status !== 0) {
  rmSync(temp, { force: true });
  const why = r.error
    ? `no C compiler (${compiler}: ${r.error.code ?? r.error.message})`
    : "the compiler failed";
  console.warn(`oc-spawner: not built, ${why}; commands start with Node's spawn (slower)`);
  process.exit(0);
}
renameSync(temp, target);
