import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resilientStore } from "../src/queue/resilient-store.js";
import type { JobStore } from "../src/store/job-store.js";
import { isTransientStoreError } from "../src/store/transient-error.js";
import { silentLogger } from "../src/util/logger.js";
import { pidAlive } from "../src/util/pid-alive.js";

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe("transient store faults", () => {
  it.each([
    [
      "PostgreSQL shutting down (57P01)",
      withCode("57P01", "terminating connection due to administrator command"),
    ],
    ["PostgreSQL starting up (57P03)", withCode("57P03", "the database system is starting up")],
    ["connection refused", withCode("ECONNREFUSED")],
    ["connection reset", withCode("ECONNRESET")],
    ["node-postgres lost its connection", new Error("Connection terminated unexpectedly")],
    ["SQLite busy", withCode("SQLITE_BUSY", "database is locked")],
    ["SQLite disk full", withCode("SQLITE_FULL", "database or disk is full")],
    ["SQLite I/O error", withCode("SQLITE_IOERR_WRITE", "disk I/O error")],
    ["no space left", withCode("ENOSPC")],
    ["wrapped in a cause", new Error("claim failed", { cause: withCode("ECONNREFUSED") })],
  ])("%s is transient", (_name, e) => {
    expect(isTransientStoreError(e)).toBe(true);
  });

  it.each([
    ["a constraint", withCode("23505", "duplicate key value violates unique constraint")],
    ["a syntax error", withCode("42601", "syntax error at or near")],
    ["a corrupt SQLite file", withCode("SQLITE_CORRUPT", "database disk image is malformed")],
    ["a plain error", new Error("boom")],
    ["not an error", "ECONNREFUSED"],
  ])("%s is not", (_name, e) => {
    expect(isTransientStoreError(e)).toBe(false);
  });

  it("a resilient store waits out transient faults and passes real errors through at once", async () => {
    let calls = 0;
    const store = {
      async claimItems() {
        calls++;
        if (calls < 4) throw withCode("57P03", "the database system is starting up");
        return [{ seq: 1 }];
      },
      async startJob() {
        throw withCode("23505", "duplicate key");
      },
      async close() {
        throw withCode("ECONNREFUSED");
      },
    } as unknown as JobStore;
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => void warnings.push(m) };
    const s = resilientStore(store, { log, baseDelayMs: 1, maxDelayMs: 4 });
    expect(await s.claimItems("j", "o", 1, 0, 0)).toEqual([{ seq: 1 }]);
    expect(calls).toBe(4);
    expect(warnings).toHaveLength(1); // once, not once per try
    await expect(s.startJob("j", 0)).rejects.toThrow("duplicate key");
    await expect(s.close()).rejects.toThrow("ECONNREFUSED"); // not a worker call: not retried
  });

  it("stops waiting once told to give up (a shutdown past its grace period)", async () => {
    const store = {
      async renewLeases() {
        throw withCode("ECONNREFUSED");
      },
    } as unknown as JobStore;
    const giveUp = new AbortController();
    const s = resilientStore(store, {
      log: silentLogger,
      signal: giveUp.signal,
      baseDelayMs: 1,
      maxDelayMs: 2,
    });
    const pending = s.renewLeases("o", 0);
    giveUp.abort();
    await expect(pending).rejects.toThrow("ECONNREFUSED");
  });
});

describe("the API while the store is down", () => {
  it("answers 503 with Retry-After and a detail, not a bare 500", async () => {
    const Fastify = (await import("fastify")).default;
    const { installErrorHandler } = await import("../src/api/error-handler.js");
    const app = Fastify();
    installErrorHandler(app, 1024);
    app.get("/down", async () => {
      throw withCode("57P01", "terminating connection due to administrator command");
    });
    app.get("/full", async () => {
      throw withCode("SQLITE_FULL", "database or disk is full");
    });
    app.get("/bug", async () => {
      throw new Error("a real bug");
    });
    for (const path of ["/down", "/full"]) {
      const res = await app.inject({ method: "GET", url: path });
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("5");
      expect(res.json().detail).toMatch(/^The database is unavailable/);
    }
    expect((await app.inject({ method: "GET", url: "/bug" })).statusCode).toBe(500);
    await app.close();
  });
});

describe("/ready", () => {
  it("is ready while the store can be written, and says why not once the data directory is gone", async () => {
    const { startTestApp } = await import("./helpers/test-app.js");
    const { rmSync } = await import("node:fs");
    const t = await startTestApp({ config: { workers: 0 } });
    const ready = await t.request("GET", "/ready");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready", store: { status: "usable" }, ollama: [] });
    expect((await t.request("GET", "/health")).status).toBe(200);
    rmSync(t.app.config.dataDir, { recursive: true, force: true });
    const gone = await t.request("GET", "/ready");
    expect(gone.status).toBe(503);
    expect(gone.headers.get("retry-after")).toBe("5");
    expect(gone.body.detail).toMatch(/The database cannot be written: the database file .* is gone/);
    expect(gone.body).toMatchObject({ status: "unavailable", store: { status: "unavailable" } });
    expect((await t.request("GET", "/health")).status).toBe(200); // alive, not ready
  });
});

describe("a process id held by a zombie", () => {
  it("counts as dead: a killed server its parent has not reaped yet holds no lock", async () => {
    // A parent that never reaps its child: the child exits and stays a zombie while the parent lives.
    const parent = spawn(
      "python3",
      [
        "-c",
        "import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [line] = (await once(parent.stdout, "data")) as [Buffer];
    const zombie = Number(line.toString().trim());
    await expect.poll(() => readFileSync(`/proc/${zombie}/stat`, "utf8").split(") ")[1]?.[0]).toBe("Z");
    expect(pidAlive(zombie)).toBe(false);
    expect(pidAlive(parent.pid!)).toBe(true);
    parent.kill("SIGKILL");
  });
});
