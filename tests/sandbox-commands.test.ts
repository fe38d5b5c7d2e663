import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCommand } from "../src/sandbox/run-command.js";
import { SANDBOX_DEFAULTS, Sandbox } from "../src/sandbox/sandbox.js";
import { SpawnHelper, sharedSpawnHelper } from "../src/sandbox/spawn-helper.js";
import { hasBubblewrap, hasBuiltinJail, hasSpawnHelper } from "./helpers/requirements.js";
import { tempDir } from "./helpers/temp.js";

/** The pid a command wrote to a file, or 0 while it has not. */
function readPid(file: string): number {
  try {
    return Number(readFileSync(file, "utf8")) || 0;
  } catch {
    return 0;
  }
}

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

const modes = [
  ["off", "helper"],
  ["off", "node"],
  ["bwrap", "helper"],
  ["bwrap", "node"],
  ["builtin", "helper"],
  ["builtin", "node"],
] as const;

const jailAvailable = { off: () => true, bwrap: hasBubblewrap, builtin: hasBuiltinJail } as const;

describe.each(modes)("commands (--sandbox %s, --spawner %s)", (mode, spawner) => {
  const enabled = jailAvailable[mode]() && (spawner === "node" || hasSpawnHelper());
  const make = (extra: Partial<typeof SANDBOX_DEFAULTS> = {}) => {
    const root = join(tempDir(), "project");
    mkdirSync(root, { recursive: true });
    return { root, sandbox: new Sandbox({ ...SANDBOX_DEFAULTS, ...extra, root, mode, spawner }) };
  };

  it.runIf(enabled)("runs argv without a shell: a path with spaces and ';' is one argument", async () => {
    const { sandbox, root } = make();
    writeFileSync(join(root, "a b;touch pwned.txt"), "x");
    const r = await sandbox.run({ command: "ls -1", extraArgs: ["a b;touch pwned.txt"], timeoutMs: 10_000 });
    expect(r.exit_code).toBe(0);
    expect(r.stdout.trim()).toBe("a b;touch pwned.txt");
    const r2 = await sandbox.run({ command: ["echo", "$(id)", "`id`", "a|b"], timeoutMs: 10_000 });
    expect(r2.stdout.trim()).toBe("$(id) `id` a|b");
    expect(r.jailed).toBe(mode !== "off");
  });

  it.runIf(enabled)("a timeout kills the whole process group: no orphan left", async () => {
    const { sandbox, root } = make();
    const r = await sandbox.run({
      command: ["sh", "-c", `sleep 300 & echo $! > ${join(root, "child.pid")}; sleep 300`],
      timeoutMs: 500,
    });
    expect(r.timed_out).toBe(true);
    expect(r.exit_code === null || r.exit_code !== 0).toBe(true);
    const pid = Number(readFileSync(join(root, "child.pid"), "utf8"));
    if (mode !== "bwrap") await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false);
    else expect(pid).toBeGreaterThan(0); // a pid inside the jail's own namespace; the namespace is gone with it
  });

  it.runIf(enabled)("cancel (abort) kills the group at once", async () => {
    const { sandbox, root } = make();
    const ac = new AbortController();
    const run = sandbox.run({
      command: ["sh", "-c", `sleep 300 & echo $! > ${join(root, "bg.pid")}; echo started; sleep 300`],
      timeoutMs: 60_000,
      signal: ac.signal,
    });
    await expect.poll(() => readPid(join(root, "bg.pid")) > 0).toBe(true);
    const t0 = performance.now();
    ac.abort();
    const r = await run;
    expect(r.cancelled).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
    if (mode !== "bwrap")
      await expect
        .poll(() => alive(Number(readFileSync(join(root, "bg.pid"), "utf8"))), { timeout: 5000 })
        .toBe(false);
  });

  it.runIf(enabled)("a program that exits leaves no background process behind", async () => {
    const { sandbox, root } = make();
    const r = await sandbox.run({
      command: ["sh", "-c", `sleep 300 & echo $! > ${join(root, "left.pid")}`],
      timeoutMs: 10_000,
    });
    expect(r.exit_code).toBe(0);
    if (mode !== "bwrap")
      await expect
        .poll(() => alive(Number(readFileSync(join(root, "left.pid"), "utf8"))), { timeout: 5000 })
        .toBe(false);
  });

  // The built-in jail refuses setsid and setpgid altogether (tests/jail-attacks.test.ts).
  it.runIf(enabled && mode !== "builtin")(
    "a process that left the group and holds the output does not hold the end",
    async () => {
      const { sandbox, root } = make();
      const t0 = performance.now();
      const r = await sandbox.run({
        command: [
          "sh",
          "-c",
          // the pid file is written from inside the new session, so the escape has happened before sh exits
          `setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' & while [ ! -s escaped.pid ]; do sleep 0.05; done; echo started`,
        ],
        timeoutMs: 60_000,
      });
      const escaped = Number(readFileSync(join(root, "escaped.pid"), "utf8"));
      try {
        expect(r.exit_code).toBe(0);
        expect(r.stdout).toBe("started\n");
        expect(performance.now() - t0).toBeLessThan(15_000); // the end comes ~2 s after the exit, not after 300 s
      } finally {
        if (mode === "off" && escaped > 0) process.kill(escaped, "SIGKILL");
      }
    },
  );

  it.runIf(enabled)("caps output, keeping head and tail and saying so", async () => {
    const { sandbox } = make({ outputCap: 1024 });
    const r = await sandbox.run({
      command: [
        "node",
        "-e",
        "process.stdout.write('HEAD' + 'x'.repeat(100000) + 'TAIL'); process.stderr.write('e'.repeat(10))",
      ],
      timeoutMs: 10_000,
    });
    expect(r.truncated).toBe(true);
    expect(r.stdout.startsWith("HEAD")).toBe(true);
    expect(r.stdout.endsWith("TAIL")).toBe(true);
    expect(r.stdout).toMatch(/output truncated: \d+ bytes omitted of 100008/);
    expect(r.stdout.length).toBeLessThan(2200);
    expect(r.stderr).toBe("e".repeat(10));
  });

  it.runIf(enabled)("commands see a minimal environment", async () => {
    process.env.OC_TEST_SECRET = "hunter2";
    const { sandbox } = make();
    const r = await sandbox.run({ command: ["env"], timeoutMs: 10_000 });
    delete process.env.OC_TEST_SECRET;
    expect(r.stdout).not.toContain("hunter2");
    expect(r.stdout).toMatch(/^PATH=/m);
  });

  it.runIf(enabled)("a missing program is a clear error, not a crash", async () => {
    const { sandbox } = make();
    const r = await sandbox.run({ command: "definitely-not-a-program-xyz --version", timeoutMs: 10_000 });
    if (mode !== "bwrap") expect(r.spawn_error).toBe("command not found: definitely-not-a-program-xyz");
    else expect(r.exit_code).not.toBe(0);
  });
  it.runIf(enabled)("a cancel that comes before the program has started still kills it", async () => {
    const { sandbox, root } = make();
    const ac = new AbortController();
    const run = sandbox.run({
      command: ["sh", "-c", `echo $$ > ${join(root, "early.pid")}; sleep 300`],
      timeoutMs: 60_000,
      signal: ac.signal,
    });
    ac.abort();
    const r = await run;
    expect(r.cancelled).toBe(true);
    expect(r.exit_code).not.toBe(0);
  });

  it.runIf(enabled)("many commands at once each get their own output, whole", async () => {
    const { sandbox } = make({ outputCap: 4 * 1024 * 1024 });
    const runs = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        sandbox.run({
          command: [
            "node",
            "-e",
            `process.stdout.write(String(${i}).repeat(200000)); console.error('e${i}')`,
          ],
          timeoutMs: 30_000,
        }),
      ),
    );
    runs.forEach((r, i) => {
      expect(r.exit_code).toBe(0);
      expect(r.truncated).toBe(false);
      expect(r.stdout).toBe(String(i).repeat(200000));
      expect(r.stderr).toBe(`e${i}\n`);
    });
  });

  it.runIf(enabled)("long arguments pass through whole (a 400 kB request)", async () => {
    const { sandbox } = make();
    const parts = ["a", "b", "c", "d"].map((c) => c.repeat(100_000)); // 400 kB in one request
    const r = await sandbox.run({
      command: [
        "node",
        "-e",
        "console.log(process.argv.slice(1).map((a) => a.length + a[0]).join(' '))",
        ...parts,
      ],
      timeoutMs: 30_000,
    });
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toBe("100000a 100000b 100000c 100000d\n");
  });

  it.runIf(enabled)("stdin is empty, the exit code and a killing signal come back", async () => {
    const { sandbox } = make();
    const cat = await sandbox.run({ command: ["cat"], timeoutMs: 10_000 });
    expect(cat.exit_code).toBe(0);
    expect(cat.stdout).toBe("");
    const code = await sandbox.run({ command: ["sh", "-c", "exit 7"], timeoutMs: 10_000 });
    expect(code.exit_code).toBe(7);
    // SIGINT and SIGTERM too: the helper ignores them (a Ctrl-C to the server's group), its commands do not
    for (const sig of ["USR1", "INT", "TERM"]) {
      const killed = await sandbox.run({ command: ["sh", "-c", `kill -${sig} $$`], timeoutMs: 10_000 });
      if (mode !== "bwrap") {
        expect(killed.exit_code).toBeNull();
        expect(killed.signal).toBe(`SIG${sig}`);
      } else expect(killed.exit_code).not.toBe(0); // bubblewrap reports its child's death as an exit code
    }
  });

  it.runIf(enabled)("a file that is not executable is a clear error", async () => {
    const { sandbox, root } = make();
    writeFileSync(join(root, "script.sh"), "#!/bin/sh\necho hi\n", { mode: 0o644 });
    const r = await sandbox.run({ command: "./script.sh", timeoutMs: 10_000 });
    if (mode !== "bwrap") expect(r.spawn_error).toBe("permission denied: ./script.sh");
    else {
      // bubblewrap itself starts, then fails to exec the program and says why
      expect(r.exit_code).not.toBe(0);
      expect(r.stderr).toMatch(/Permission denied/);
    }
    expect(r.stdout).toBe("");
  });
});

describe("oc-spawner", () => {
  const enabled = hasSpawnHelper();
  const make = () => {
    const root = join(tempDir(), "project");
    mkdirSync(root, { recursive: true });
    return { root, sandbox: new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off", spawner: "helper" }) };
  };

  it.runIf(enabled)("when the server process dies, everything it started dies with it", async () => {
    const { root } = make();
    const sandboxModule = new URL("../dist/sandbox/sandbox.js", import.meta.url).href;
    const script = `
      const { Sandbox, SANDBOX_DEFAULTS } = await import(${JSON.stringify(sandboxModule)});
      const sb = new Sandbox({ ...SANDBOX_DEFAULTS, root: ${JSON.stringify(root)}, mode: "off", spawner: "helper" });
      sb.run({ command: ["sh", "-c", "sleep 300 & echo $! > bg.pid; echo $$ > fg.pid; sleep 300"], timeoutMs: 600000 });
    `;
    const server = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore" });
    await expect
      .poll(() => readPid(join(root, "bg.pid")) > 0 && readPid(join(root, "fg.pid")) > 0)
      .toBe(true);
    const bg = readPid(join(root, "bg.pid"));
    const fg = readPid(join(root, "fg.pid"));
    expect(alive(bg) && alive(fg)).toBe(true);
    server.kill("SIGKILL");
    await expect.poll(() => alive(bg) || alive(fg), { timeout: 5000 }).toBe(false);
  });

  it("a helper that cannot start costs nothing: the command starts with Node's spawn", async () => {
    const root = tempDir();
    let why = "";
    const broken = new SpawnHelper(join(root, "no-such-spawner"), (w) => {
      why = w;
    });
    const r = await runCommand(["sh", "-c", "echo ran"], {
      cwd: root,
      timeoutMs: 10_000,
      env: { PATH: process.env.PATH },
      outputCap: 1024,
      helper: broken,
    });
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toBe("ran\n");
    expect(why).toMatch(/spawner/);
    expect(broken.alive).toBe(false);
  });

  it.runIf(enabled)("if the helper dies mid-run, the run fails clearly and the next one works", async () => {
    const { sandbox, root } = make();
    const run = sandbox.run({
      command: ["sh", "-c", "echo $$ > fg.pid; sleep 300"],
      timeoutMs: 60_000,
    });
    await expect.poll(() => readPid(join(root, "fg.pid")) > 0).toBe(true);
    const helper = sharedSpawnHelper();
    expect(helper?.pid).toBeGreaterThan(0);
    process.kill(helper!.pid!, "SIGKILL");
    const r = await run;
    expect(r.spawn_error).toBe("the command spawner exited before the command ended");
    await expect.poll(() => alive(readPid(join(root, "fg.pid"))), { timeout: 5000 }).toBe(false);
    const next = await sandbox.run({ command: "echo again", timeoutMs: 10_000 });
    expect(next.stdout).toBe("again\n");
    expect(sharedSpawnHelper()?.pid).not.toBe(helper!.pid);
  });
});

describe("bubblewrap jail", () => {
  const enabled = hasBubblewrap();
  const make = () => {
    const base = tempDir();
    const root = join(base, "project");
    const data = join(base, "data");
    mkdirSync(root, { recursive: true });
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "batch_jobs.db"), "SECRET DATABASE");
    return {
      base,
      root,
      data,
      sandbox: new Sandbox({ ...SANDBOX_DEFAULTS, root, hidden: [data], mode: "bwrap" }),
    };
  };

  it.runIf(enabled)("the workspace is writable; outside it nothing is", async () => {
    const { sandbox, root, base } = make();
    const inside = await sandbox.run({ command: ["sh", "-c", "echo ok > inside.txt"], timeoutMs: 10_000 });
    expect(inside.exit_code).toBe(0);
    expect(readFileSync(join(root, "inside.txt"), "utf8")).toBe("ok\n");
    // Beside the workspace is the jail's private /tmp: the write lands there, never on the host.
    await sandbox.run({
      command: ["sh", "-c", `echo pwned > ${join(base, "outside.txt")}`],
      timeoutMs: 10_000,
    });
    expect(existsSync(join(base, "outside.txt"))).toBe(false);
    const root2 = await sandbox.run({
      command: ["sh", "-c", "echo pwned > /root/oc-pwned.txt"],
      timeoutMs: 10_000,
    });
    expect(root2.exit_code).not.toBe(0);
    expect(existsSync("/root/oc-pwned.txt")).toBe(false);
    const home = await sandbox.run({ command: ["touch", "/usr/pwned"], timeoutMs: 10_000 });
    expect(home.exit_code).not.toBe(0);
    expect(home.stderr).toMatch(/Read-only file system|Permission denied/);
    // a private /tmp: what a command writes there does not reach the host's /tmp
    const tmp = await sandbox.run({
      command: ["sh", "-c", "echo x > /tmp/oc-jail-probe && ls /tmp"],
      timeoutMs: 10_000,
    });
    expect(tmp.stdout).toContain("oc-jail-probe");
    expect(existsSync("/tmp/oc-jail-probe")).toBe(false);
  });

  it.runIf(enabled)("cannot connect to 127.0.0.1 (no network)", async () => {
    const { createServer } = await import("node:net");
    const server = createServer((s) => {
      s.on("error", () => undefined);
      s.end("hello");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const script = `require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('CONNECTED'); process.exit(0) }).on('error', (e) => { console.log(e.code); process.exit(3) })`;
    const jailed = await make().sandbox.run({ command: ["node", "-e", script], timeoutMs: 10_000 });
    const root = join(tempDir(), "p");
    const open = await new Sandbox({ ...SANDBOX_DEFAULTS, root, mode: "off" }).run({
      command: ["node", "-e", script],
      timeoutMs: 10_000,
    });
    server.close();
    expect(open.stdout.trim()).toBe("CONNECTED"); // the same command reaches it unjailed
    expect(jailed.exit_code).toBe(3);
    expect(jailed.stdout.trim()).toBe("ECONNREFUSED");
  });

  it.runIf(enabled)("cannot read the server's database", async () => {
    const { sandbox, data } = make();
    const r = await sandbox.run({ command: ["cat", join(data, "batch_jobs.db")], timeoutMs: 10_000 });
    expect(r.exit_code).not.toBe(0);
    expect(r.stdout).not.toContain("SECRET");
  });
});
