import { spawnSync } from "node:child_process";
import { probeBuiltinJail } from "../../src/sandbox/builtin-jail.js";
import { probeBubblewrap } from "../../src/sandbox/jail.js";
import { spawnHelperPath } from "../../src/sandbox/spawn-helper.js";

/**
 * Whether an optional system part is here. On a laptop without it the test skips with a clear message; under
 * CI (CI=true) a missing part is a failure, never a silent skip.
 */
export function requirePart(name: string, available: boolean, hint: string): boolean {
  if (available) return true;
  if (process.env.CI === "true") throw new Error(`${name} is required under CI but missing: ${hint}`);
  console.warn(`skipping ${name} tests: ${hint}`);
  return false;
}

export const hasBubblewrap = (): boolean =>
  requirePart(
    "bubblewrap",
    probeBubblewrap().ok,
    `${probeBubblewrap().reason}; apt-get install -y bubblewrap`,
  );

export const hasPytest = (): boolean => spawnSync("pytest", ["--version"], { stdio: "ignore" }).status === 0;

export const hasSpawnHelper = (): boolean =>
  requirePart(
    "oc-spawner",
    spawnHelperPath() !== null,
    "dist/native/oc-spawner is not built (`npm run build` builds it on Linux with a C compiler)",
  );

export const hasBuiltinJail = (): boolean =>
  requirePart(
    "the built-in jail",
    probeBuiltinJail().ok,
    `${probeBuiltinJail().reason} (\`npm run build\` builds oc-spawner where a C compiler is)`,
  );

export const hasPython3 = (): boolean =>
  requirePart(
    "python3",
    spawnSync("python3", ["--version"], { stdio: "ignore" }).status === 0,
    "python3 is not on PATH (apt-get install -y python3)",
  );

export const hasPythonRequests = (): boolean =>
  requirePart(
    "python3 with requests",
    spawnSync("python3", ["-c", "import requests"], { stdio: "ignore" }).status === 0,
    "python3 cannot import requests (apt-get install -y python3-requests)",
  );
