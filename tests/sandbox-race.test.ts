import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentTools } from "../src/agent/agent-tools.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { tempDir } from "./helpers/temp.js";

/**
 * The attack of issue 10: a command that can write inside the project root swaps a directory of the root with a
 * symlink to outside (renameat2 RENAME_EXCHANGE, in a tight loop) while the server lists, writes and reads
 * through that directory. Nothing of the outside may be listed, read, written, replaced or removed.
 *
 * OC_RACE_SECONDS: how long the attacker runs (default 20 under CI=true, else 3).
 */
const SECONDS = Number(process.env.OC_RACE_SECONDS ?? (process.env.CI === "true" ? 20 : 3));

/** Swaps two names atomically, an even number of times, until the time is up; prints the count. */
const ATTACKER = `
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, secs = sys.argv[1].encode(), sys.argv[2].encode(), float(sys.argv[3])
AT_FDCWD, RENAME_EXCHANGE = -100, 2
n, end = 0, time.monotonic() + secs
print("ready", flush=True)
while time.monotonic() < end:
    for _ in range(500):
        for _ in range(2):
            if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
                sys.exit("renameat2: errno %d" % ctypes.get_errno())
            n += 1
print(n, flush=True)
`;

const SECRET = "OUTSIDE SECRET";
const MARKER = "OUTSIDE-MARKER";

function canSwap(dir: string): boolean {
  mkdirSync(join(dir, "a"));
  symlinkSync("/", join(dir, "b"));
  const r = spawnSync("python3", ["-c", ATTACKER, join(dir, "a"), join(dir, "b"), "0"], {
    encoding: "utf8",
  });
  return r.status === 0;
}

/** Every file under `dir` with its content (directories as entries with a trailing slash). */
function snapshot(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      out[`${prefix}${name}/`] = "";
      Object.assign(out, snapshot(p, `${prefix}${name}/`));
    } else out[prefix + name] = readFileSync(p, "utf8");
  }
  return out;
}

let attacker: ChildProcess | undefined;
afterEach(() => {
  attacker?.kill("SIGKILL");
  attacker = undefined;
});

describe("file operations while a directory is swapped with a symlink out (renameat2 RENAME_EXCHANGE)", () => {
  const base = tempDir("oc-race-");
  const swappable = process.platform === "linux" && canSwap(base);

  it.skipIf(!swappable)(
    `lists, writes and reads nothing outside the root (${SECONDS} s of swapping)`,
    async () => {
      const dir = tempDir("oc-race-");
      const root = join(dir, "project");
      const outside = join(dir, "outside");
      const big = "x".repeat(300 * 1024);
      for (const d of [root, outside]) {
        mkdirSync(d === root ? join(d, "swap", "sub") : join(d, "sub"), { recursive: true });
        const swap = d === root ? join(d, "swap") : d;
        writeFileSync(join(swap, "inside.txt"), d === root ? "inside" : SECRET);
        writeFileSync(join(swap, "big.txt"), d === root ? big : SECRET + big);
        for (let i = 0; i < 4; i++) writeFileSync(join(swap, `agent-${i}.txt`), `${d} ${i}`);
      }
      writeFileSync(join(outside, MARKER), SECRET);
      writeFileSync(join(outside, "sub", MARKER), SECRET);
      symlinkSync(outside, join(root, "swap-alt"));
      const before = snapshot(outside);

      const sandbox = new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" });
      const files = sandbox.files;
      const tally = new Map<string, { ok: number; refused: number }>();
      const escapes: string[] = [];
      const reasons = new Map<string, number>();
      const count = async <T>(op: string, f: () => Promise<T>, escaped: (r: T) => boolean) => {
        const t = tally.get(op) ?? { ok: 0, refused: 0 };
        tally.set(op, t);
        try {
          const r = await f();
          t.ok++;
          if (escaped(r)) escapes.push(`${op}: ${JSON.stringify(r).slice(0, 200)}`);
        } catch (e: unknown) {
          t.refused++;
          const why = String((e as Error).message).replace(/'[^']*'/g, "'…'");
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
      };
      const leaks = (s: unknown) => JSON.stringify(s).includes(SECRET) || JSON.stringify(s).includes(MARKER);

      attacker = spawn("python3", [
        "-c",
        ATTACKER,
        join(root, "swap"),
        join(root, "swap-alt"),
        String(SECONDS),
      ]);
      let swaps = 0;
      const done = new Promise<void>((resolve, reject) => {
        attacker?.stdout?.on("data", (d: Buffer) => {
          const n = /(\d+)/.exec(d.toString());
          if (n) swaps = Number(n[1]);
        });
        attacker?.once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`attacker exit ${code}`)),
        );
      });
      let running = true;
      void done.finally(() => {
        running = false;
      });

      /** An agent tool call; a refusal (a result with ok: false) throws, to be counted as refused. */
      const tool = async (tools: AgentTools, name: string, args: Record<string, unknown>) => {
        const r = await tools.execute({ name, arguments: args });
        if (!r.ok) throw new Error(r.content);
        return r;
      };
      let round = 0;
      const signal = new AbortController().signal;
      while (running) {
        const i = round++;
        const tools = new AgentTools(sandbox, root, 1000, signal);
        await Promise.all([
          count("list", () => files.list("swap"), leaks),
          count("list sub", () => files.list("swap/sub"), leaks),
          count("read", () => files.read("swap/inside.txt"), leaks),
          count("read big", () => files.read("swap/big.txt"), leaks),
          count(
            "write",
            () => files.write(`swap/w-${i % 50}.txt`, "written"),
            () => false,
          ),
          count(
            "write new parents",
            () => files.write(`swap/sub/d${i % 50}/e/x.txt`, "x"),
            () => false,
          ),
          count("agent read_file", () => tool(tools, "read_file", { path: "swap/inside.txt" }), leaks),
          count("agent list_files", () => tool(tools, "list_files", { path: "swap" }), leaks),
          count(
            "agent write_file",
            () => tool(tools, "write_file", { path: `swap/agent-${i % 4}.txt`, content: "new" }),
            () => false,
          ),
        ]);
        await count("agent changes", async () => AgentTools.diff(tools.changes(), 1 << 20), leaks);
        await count(
          "agent revert",
          () => tools.revert(),
          () => false,
        );
      }
      await done;
      // The swaps came in pairs: the directory is itself again, and everything goes through.
      expect((await files.list("swap")).entries.map((e) => e.name)).toContain("inside.txt");
      expect((await files.read("swap/sub/../inside.txt")).content).not.toContain(SECRET);
      expect((await files.write("swap/sub/after/x.txt", "x")).path).toBe("swap/sub/after/x.txt");

      const after = snapshot(outside);
      for (const [name, content] of Object.entries(after))
        if (before[name] !== content) escapes.push(`outside ${name} written`);
      for (const name of Object.keys(before)) if (!(name in after)) escapes.push(`outside ${name} removed`);
      const ops = [...tally.values()].reduce((n, t) => n + t.ok + t.refused, 0);
      console.log(
        `race: ${swaps} swaps, ${round} rounds, ${ops} operations, ${escapes.length} escapes; ` +
          [...tally].map(([op, t]) => `${op} ${t.ok} ok / ${t.refused} refused`).join("; ") +
          `; why refused: ${[...reasons].map(([why, n]) => `${n}× ${why}`).join("; ")}`,
      );
      expect(swaps).toBeGreaterThan(0);
      // Not vacuous: while the directory was itself, operations through it went through.
      for (const op of ["list", "read", "write"]) expect(tally.get(op)?.ok).toBeGreaterThan(0);
      expect(escapes.slice(0, 20)).toEqual([]);
    },
    SECONDS * 1000 + 60_000,
  );
});
