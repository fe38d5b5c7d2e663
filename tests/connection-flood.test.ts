import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { CONNECTION_TIMEOUTS } from "../src/api/connection-limits.js";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

/**
 * Opens `count` idle connections to 127.0.0.1:`port` (500 at a time), prints how many connected, holds them
 * until its stdin closes, then drops them all. A child of its own: the test process keeps its descriptors.
 */
const OPENER = `
const net = require("node:net");
const [port, count] = process.argv.slice(1).map(Number);
const sockets = [];
let connected = 0;
(async () => {
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, () => new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.on("connect", () => { connected++; resolve(); });
      s.on("error", resolve);
      s.on("close", resolve);
      sockets.push(s);
    }));
    await Promise.all(batch);
  }
  process.stdout.write(JSON.stringify({ connected }) + "\\n");
  process.stdin.on("end", () => { for (const s of sockets) s.destroy(); process.exit(0); });
  process.stdin.resume();
})();
`;

const openers: ChildProcess[] = [];
afterEach(() => {
  for (const c of openers.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function openIdle(port: number, count: number): Promise<{ child: ChildProcess; connected: number }> {
  const child = spawn(process.execPath, ["-e", OPENER, String(port), String(count)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  openers.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n"))
        resolve({ child, connected: (JSON.parse(out) as { connected: number }).connected });
    });
    child.on("exit", (code) => reject(new Error(`opener exited (${code}) before reporting`)));
  });
}

async function health(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

describe("a flood of idle connections", () => {
  it("20,000 idle connections neither exhaust descriptors nor keep /health out for long, and the server stays up", async () => {
    const server = await startServerProcess(serveArgs(tempDir(), "--workers", "0"));
    const port = Number(new URL(server.url).port);
    const pid = server.child.pid ?? 0;
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const started = performance.now();
    const flood = await Promise.all([openIdle(port, 10_000), openIdle(port, 10_000)]);
    const connected = flood.reduce((n, f) => n + f.connected, 0);
    console.log(
      `opened ${connected} connections in ${Math.round(performance.now() - started)} ms; server fds ${fds()}`,
    );
    expect(connected).toBeGreaterThan(15_000);
    // While they are held: the cap keeps descriptors bounded, and the header timeout frees the slots, so
    // /health gets in again within seconds (probed every 200 ms for at most 30 s).
    const held = performance.now();
    let status = 0;
    while (status !== 200 && performance.now() - held < 30_000) {
      expect(fds()).toBeLessThan(1000 + 400);
      status = await health(server.url);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    expect(performance.now() - held).toBeLessThan(CONNECTION_TIMEOUTS.headersMs + 5000);
    console.log(
      `/health answered ${Math.round(performance.now() - held)} ms after the flood; server fds ${fds()}`,
    );
    // Dropped: the server serves at once and holds no leftovers.
    await Promise.all(
      flood.map(
        (f) =>
          new Promise((resolve) => {
            f.child.on("exit", resolve);
            f.child.stdin?.end();
          }),
      ),
    );
    expect(await health(server.url)).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(fds()).toBeLessThan(200);
  }, 180_000);
});
