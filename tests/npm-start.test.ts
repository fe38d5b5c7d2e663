import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { serveArgs } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

const REPO = join(import.meta.dirname, "..");
const START_SCRIPT = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts.start as string;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/** `npm start -- <args>` in `cwd`: its output so far, a wait for a pattern in it, and its exit. */
function npmStart(cwd: string, args: string[]) {
  const child = spawn("npm", ["start", "--", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0))
      if (w.re.test(out)) w.resolve();
      else waiters.push(w);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "?")),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor: (re: RegExp) =>
      re.test(out)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ re, resolve })),
            exited.then((code) => Promise.reject(new Error(`npm start exited (${code}):\n${out}`))),
          ]),
  };
}

/**
 * A copy of the start machinery around a fake build: `npm run build` writes a dist/cli.js that says
 * "listening on" with its arguments, and logs each build; the fake server records the signal that stops it.
 */
function fakeTree(): string {
  const dir = tempDir();
  mkdirSync(join(dir, "scripts"));
  mkdirSync(join(dir, "src"));
  copyFileSync(join(REPO, "scripts", "start.mjs"), join(dir, "scripts", "start.mjs"));
  writeFileSync(join(dir, "src", "a.ts"), "export {};\n");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "fake",
      private: true,
      scripts: { build: "node build.mjs", start: START_SCRIPT },
    }),
  );
  const server = `
import { appendFileSync } from "node:fs";
console.log("listening on http://fake " + JSON.stringify(process.argv.slice(2)));
process.on("SIGTERM", () => { appendFileSync(${JSON.stringify(join(dir, "signals.log"))}, "SIGTERM\\n"); process.exit(0); });
setInterval(() => {}, 1 << 30);
`;
  writeFileSync(
    join(dir, "build.mjs"),
    `import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
mkdirSync("dist", { recursive: true });
writeFileSync("dist/cli.js", ${JSON.stringify(server)});
appendFileSync("build.log", "built\\n");
`,
  );
  return dir;
}

const builds = (dir: string) =>
  readFileSync(join(dir, "build.log"), "utf8").split("\n").filter(Boolean).length;

describe("npm start", () => {
  it("builds only when a source is newer than dist/, passes flags after --, and SIGTERM stops the server", async () => {
    const dir = fakeTree();
    const first = npmStart(dir, ["--port", "9000"]);
    await first.waitFor(/listening on http:\/\/fake \["serve","--port","9000"\]/);
    expect(first.output()).toContain("building (dist/cli.js does not exist)");
    expect(builds(dir)).toBe(1);
    first.child.kill("SIGTERM"); // to npm itself: the server must get it, not be orphaned
    // npm forwards the signal and then ends as the server did, or (npm 11, some timings) by re-raising it.
    expect([0, "SIGTERM"]).toContain(await first.exited);
    // npm may re-raise the signal on itself as soon as it has passed it on: the server's own handler can still
    // be running, so its mark is waited for.
    const signals = join(dir, "signals.log");
    await expect
      .poll(() => (existsSync(signals) ? readFileSync(signals, "utf8") : ""), { timeout: 10_000 })
      .toBe("SIGTERM\n");

    const again = npmStart(dir, []);
    await again.waitFor(/listening on http:\/\/fake \["serve"\]/);
    expect(again.output()).not.toContain("building");
    expect(builds(dir)).toBe(1);
    again.child.kill("SIGINT");
    await again.exited;

    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, "src", "a.ts"), later, later);
    const edited = npmStart(dir, []);
    await edited.waitFor(/listening on http:\/\/fake/);
    expect(edited.output()).toContain("building (src/a.ts is newer than dist/)");
    expect(builds(dir)).toBe(2);
  });

  it("the real tree: no rebuild when dist/ is current, serves, and stops gracefully on SIGTERM", async () => {
    const dir = tempDir();
    const s = npmStart(REPO, serveArgs(dir, "--sandbox", "off").slice(1)); // npm start adds `serve`
    await s.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(s.output()).not.toContain("building");
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(s.output())?.[1];
    expect((await fetch(`${url}/health`)).status).toBe(200);
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
    expect(s.output()).toMatch(/SIGTERM: stopping/);
  });
});
