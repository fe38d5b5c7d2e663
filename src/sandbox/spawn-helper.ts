import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Socket } from "node:net";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { consoleLogger } from "../util/logger.js";

/** How a started command is followed: its output, then its end. */
export interface LaunchEvents {
  onStart(pid: number): void;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Once, after the program has exited and its output is closed; `error` (an errno code) if it never ran. */
  onEnd(code: number | null, signal: NodeJS.Signals | null, error?: string): void;
}

const HEADER = 9;
const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);
const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * Where the build put the helper: dist/native beside dist/sandbox when running the build, or the package's
 * dist/native when running from sources (tests, benchmarks).
 */
export function spawnHelperPath(): string | null {
  if (helperPath === undefined) helperPath = findSpawnHelper();
  return helperPath;
}

/** Looked up once: the build does not move while the process runs. */
let helperPath: string | null | undefined;

function findSpawnHelper(): string | null {
  if (process.platform !== "linux") return null;
  const candidates = [
    "../native/oc-spawner",
    "../../dist/native/oc-spawner",
    "../../../dist/native/oc-spawner",
  ];
  for (const rel of candidates) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  return null;
}

/**
 * The client of `oc-spawner` (native/oc-spawner.c): one small long-lived process that starts commands with
 * posix_spawn, so that a command costs what it costs xargs instead of a fork of the whole server, and the
 * event loop never waits for an exec. The helper leaves no process behind: when a program exits it kills the
 * rest of its group, and when the server goes away (its stdin closes) it kills every group it started.
 */
export class SpawnHelper {
  private readonly child: ChildProcess;
  private readonly runs = new Map<number, { events: LaunchEvents; pid?: number }>();
  private nextId = 1;
  private pending: Buffer | null = null;
  private exited = false;
  private closing = false;
  private referenced = true;
  private corked = false;

  constructor(
    binary: string,
    private readonly onExit: (why: string) => void,
  ) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.stdout!.on("data", (d: Buffer) => this.receive(d));
    this.child.stdin!.on("error", () => {
      /* reported by 'exit' */
    });
    this.child.on("error", (e) => this.end(`the command spawner failed: ${e.message}`));
    this.child.on("exit", (code, sig) =>
      this.end(`the command spawner exited (${sig ?? `code ${code}`}) while commands were running`),
    );
    this.idle();
  }

  /** The helper's own process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Starts argv; `jail` (native/jail.h spec strings) confines it before it executes. */
  launch(
    argv: readonly string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    events: LaunchEvents,
    jail: readonly string[] = [],
  ): void {
    if (this.exited) {
      events.onEnd(null, null, "ESPAWNER");
      return;
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    const envList = Object.entries(env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const strings = Buffer.from(`${[cwd, ...argv, ...envList, ...jail].join("\0")}\0`);
    const head = Buffer.alloc(21);
    head.writeUInt32LE(17 + strings.length, 0);
    head.write("S", 4, "latin1");
    head.writeUInt32LE(id, 5);
    head.writeUInt32LE(argv.length, 9);
    head.writeUInt32LE(envList.length, 13);
    head.writeUInt32LE(jail.length, 17);
    this.runs.set(id, { events });
    if (this.runs.size === 1) this.busy();
    // Requests made in the same tick go out in one write (one wake-up of the helper).
    const stdin = this.child.stdin!;
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(() => {
        this.corked = false;
        stdin.uncork();
      });
    }
    stdin.write(Buffer.concat([head, strings]));
  }

  /** Stops the helper (it kills whatever it still runs). */
  close(): void {
    this.closing = true;
    this.child.stdin!.end();
  }

  private receive(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= HEADER) {
      const len = buf.readUInt32LE(off + 5);
      if (buf.length - off - HEADER < len) break;
      const type = buf[off]!;
      const id = buf.readUInt32LE(off + 1);
      const payload = buf.subarray(off + HEADER, off + HEADER + len);
      off += HEADER + len;
      this.dispatch(type, id, payload);
    }
    this.pending = off < buf.length ? buf.subarray(off) : null;
  }

  private dispatch(type: number, id: number, payload: Buffer): void {
    const run = this.runs.get(id);
    if (!run) return;
    switch (type) {
      case 0x50 /* P */:
        {
          run.pid = payload.readInt32LE(0);
          run.events.onStart(run.pid);
          break;
        }
      case 0x4f /* O */:
        run.events.onStdout(Buffer.from(payload)); // a copy: the frame shares memory with the whole read
        break;
      case 0x52 /* R */:
        run.events.onStderr(Buffer.from(payload));
        break;
      case 0x46 /* F */:
        this.finish(id);
        run.events.onEnd(
          null,
          null,
          errnoNames.get(payload.readInt32LE(0)) ?? `errno ${payload.readInt32LE(0)}`,
        );
        break;
      case 0x58 /* X */:
        {
          this.finish(id);
          const code = payload.readInt32LE(0);
          const sig = payload.readInt32LE(4);
          run.events.onEnd(sig ? null : code, sig ? (signalNames.get(sig) ?? "SIGKILL") : null);
          break;
        }
    }
  }

  private finish(id: number): void {
    this.runs.delete(id);
    if (this.runs.size === 0) this.idle();
  }

  /** The helper must not keep the server alive on its own, nor be unreferenced while commands run. */
  private idle(): void {
    if (!this.referenced) return;
    this.referenced = false;
    this.child.unref();
    (this.child.stdin as unknown as Socket).unref();
    (this.child.stdout as unknown as Socket).unref();
  }

  private busy(): void {
    if (this.referenced) return;
    this.referenced = true;
    this.child.ref();
    (this.child.stdin as unknown as Socket).ref();
    (this.child.stdout as unknown as Socket).ref();
  }

  private end(why: string): void {
    if (this.exited) return;
    this.exited = true;
    const runs = [...this.runs.values()];
    this.runs.clear();
    for (const run of runs) {
      if (run.pid !== undefined) {
        try {
          process.kill(-run.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      run.events.onEnd(null, null, "ESPAWNER");
    }
    if (!this.closing) this.onExit(why);
  }
}

let shared: SpawnHelper | null = null;
let failures = 0;
const MAX_FAILURES = 3;

/**
 * The process's helper, started on first use; null where there is none (not built, not Linux) or after it
 * failed repeatedly — callers then start commands with Node's spawn.
 */
export function sharedSpawnHelper(): SpawnHelper | null {
  if (shared?.alive) return shared;
  if (failures >= MAX_FAILURES) return null;
  const binary = spawnHelperPath();
  if (!binary) return null;
  shared = new SpawnHelper(binary, (why) => {
    failures++;
    if (failures >= MAX_FAILURES)
      consoleLogger.warn(`ollama-coder: ${why}; starting commands with Node's spawn from now on`);
  });
  return shared;
}
