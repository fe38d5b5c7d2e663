import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecurityBlockError } from "../src/errors.js";
import { createdPidsCgroups } from "../src/sandbox/pids-cgroup.js";
import type { RunResult } from "../src/sandbox/run-command.js";
import { SANDBOX_DEFAULTS, Sandbox, type SandboxOptions } from "../src/sandbox/sandbox.js";
import { hasBubblewrap, hasBuiltinJail, hasPytest, hasSpawnHelper } from "./helpers/requirements.js";

/**
 * The attacks a hostile model or task text tried on a fresh machine, run under every jail this machine has:
 * each must leave the secret unread, the canary directory untouched, no connection made (TCP or a host UNIX
 * socket), no signal delivered outside, and nothing running after the command ends.
 */

const SECRET = "TOP-SECRET-7f3a";

interface Host {
  base: string;
  root: string;
  secret: string;
  canary: string;
  tcpPort: number;
  tcpHits: () => number;
  unixPath: string;
  unixHits: () => number;
  victim: ChildProcess;
  close: () => Promise<void>;
}

/** A host with something to steal, delete, connect to and kill, all outside the project root. */
async function makeHost(): Promise<Host> {
  // Kept for the whole describe block (tempDir() is emptied after each test).
  const base = mkdtempSync(join(tmpdir(), "oc-jail-"));
  const root = join(base, "project");
  const canary = join(base, "canary");
  mkdirSync(root, { recursive: true });
  mkdirSync(canary);
  writeFileSync(join(canary, "keep.txt"), "keep");
  const secret = join(base, "secret.txt");
  writeFileSync(secret, SECRET);
  let tcp = 0;
  let unix = 0;
  const servers: Server[] = [
    createServer((s) => {
      tcp++;
      s.end("hello");
    }),
    createServer((s) => {
      unix++;
      s.end("hello");
    }),
  ];
  await new Promise<void>((r) => servers[0]!.listen(0, "127.0.0.1", r));
  const unixPath = join(base, "host.sock");
  await new Promise<void>((r) => servers[1]!.listen(unixPath, r));
  const victim = spawn("sleep", ["600"], { stdio: "ignore" });
  return {
    base,
    root,
    secret,
    canary,
    tcpPort: (servers[0]!.address() as { port: number }).port,
    tcpHits: () => tcp,
    unixPath,
    unixHits: () => unix,
    victim,
    close: async () => {
      victim.kill("SIGKILL");
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Runs a command; a guardrail refusal counts as a run that did nothing. */
async function attempt(
  sandbox: Sandbox,
  command: string | string[],
): Promise<RunResult | { blocked: string }> {
  try {
    return await sandbox.run({ command, timeoutMs: 20_000 });
  } catch (e: unknown) {
    if (e instanceof SecurityBlockError) return { blocked: e.message };
    throw e;
  }
}

const output = (r: RunResult | { blocked: string }) =>
  "blocked" in r ? r.blocked : `${r.stdout}\n${r.stderr}`;

/** Processes whose command line holds `token` (a unique sleep length marks a test's own processes). */
function processesWith(token: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ");
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (cmd.includes(token) && !/^\d+ \(.*\) Z/.test(stat)) pids.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return pids;
}

const modes = [
  ["bwrap", "helper"],
  ["bwrap", "node"],
  ["builtin", "helper"],
  ["builtin", "node"],
] as const;

describe.each(modes)("attacks under --sandbox %s (--spawner %s)", (mode, spawner) => {
  const enabled =
    (mode === "bwrap" ? hasBubblewrap() : hasBuiltinJail()) && (spawner === "node" || hasSpawnHelper());
  let host: Host;
  let sandbox: Sandbox;
  const make = (extra: Partial<SandboxOptions> = {}) =>
    new Sandbox({
      ...SANDBOX_DEFAULTS,
      root: host.root,
      hidden: [join(host.base, "data")],
      mode,
      spawner,
      ...extra,
    });

  beforeAll(async () => {
    if (!enabled) return;
    host = await makeHost();
    sandbox = make();
  });
  afterAll(async () => {
    await host?.close();
  });

  /** Nothing outside the root was read, changed, reached or killed. */
  const expectHostIntact = (results: (RunResult | { blocked: string })[]) => {
    for (const r of results) expect(output(r)).not.toContain(SECRET);
    expect(readdirSync(host.canary)).toEqual(["keep.txt"]);
    expect(readFileSync(join(host.canary, "keep.txt"), "utf8")).toBe("keep");
    expect(host.tcpHits()).toBe(0);
    expect(host.unixHits()).toBe(0);
    expect(host.victim.exitCode).toBeNull();
    expect(host.victim.signalCode).toBeNull();
    for (const f of readdirSync(host.root))
      if (f !== ".pytest_cache") expect(readFileSync(join(host.root, f), "utf8")).not.toContain(SECRET);
  };

  it.runIf(enabled)("reads nothing outside the root: files, /etc/shadow, /var/tmp, homes", async () => {
    const varTmp = `/var/tmp/oc-secret-${process.pid}-${mode}-${spawner}`;
    writeFileSync(varTmp, SECRET);
    try {
      const results = [];
      for (const command of [
        ["cat", host.secret],
        ["cp", host.secret, "stolen.txt"],
        ["python3", "-c", `print(open(${JSON.stringify(host.secret)}).read())`],
        ["node", "-e", `console.log(require('fs').readFileSync(${JSON.stringify(host.secret)}, 'utf8'))`],
        ["perl", "-e", `open(F, "<", "${host.secret}") and print <F>`],
        ["sh", "-c", `cat ${host.secret}; ls ${host.base}`],
        ["cat", "/etc/shadow"],
        ["cat", varTmp],
        ["ls", "-a", "/root", "/home", "/var/tmp", "/run"],
        ["git", "-C", host.base, "status"],
      ]) {
        results.push(await attempt(sandbox, command));
      }
      expectHostIntact(results);
      expect(output(results[6]!)).not.toMatch(/root:/);
      expect(output(results[8]!)).not.toContain("oc-secret-");
      expect(output(results[8]!)).not.toContain("postgresql");
    } finally {
      rmSync(varTmp, { force: true });
    }
  });

  it.runIf(enabled)(
    "writes and deletes nothing outside the root, however the command is spelled",
    async () => {
      const c = host.canary;
      const results = [];
      for (const command of [
        `rm --r --f ${c}`,
        ["env", "-S", `rm -r -f ${c}`],
        ["sh", "-c", `X=rm; $X -r -f ${c}`],
        ["sh", "-c", `eval "rm -r -f ${c}"`],
        ["sh", "-c", `$(echo rm) -r -f ${c}`],
        ["taskset", "-c", "0", "rm", "-r", "-f", c],
        ["flock", join(c, "lock"), "rm", "-r", "-f", c],
        ["script", "-qc", `rm -r -f ${c}`, "/dev/null"],
        ["setpriv", "rm", "-r", "-f", c],
        ["cp", "/etc/hostname", join(c, "planted")],
        ["python3", "-c", `open(${JSON.stringify(join(c, "pwned"))}, "w").write("x")`],
        ["perl", "-e", `unlink "${join(c, "keep.txt")}"`],
        ["node", "-e", `require('fs').rmSync(${JSON.stringify(c)}, { recursive: true, force: true })`],
        ["git", "-C", c, "clean", "-fdx"],
        ["git", "-c", `alias.x=!rm -r -f ${c}`, "x"],
        ["sh", "-c", `mv ${c}/keep.txt ${host.root}/; touch /usr/pwned-${process.pid}`],
      ]) {
        results.push(await attempt(sandbox, command));
      }
      expectHostIntact(results);
      expect(existsSync(`/usr/pwned-${process.pid}`)).toBe(false);
    },
  );

  it.runIf(enabled)("changes no metadata outside the root: modes, times, extended attributes", async () => {
    const keep = join(host.canary, "keep.txt");
    chmodSync(host.secret, 0o600);
    const before = [statSync(host.secret), statSync(keep), statSync(host.canary)];
    const results = [
      await attempt(sandbox, ["chmod", "644", host.secret]),
      await attempt(sandbox, ["python3", "-c", `import os; os.chmod(${JSON.stringify(host.canary)}, 0o777)`]),
      await attempt(sandbox, ["touch", "-d", "2001-01-01", keep]),
      await attempt(sandbox, ["python3", "-c", `import os; os.utime(${JSON.stringify(keep)}, (0, 0))`]),
      await attempt(sandbox, [
        "python3",
        "-c",
        `import os; os.setxattr(${JSON.stringify(keep)}, "user.pwn", b"1"); print("SET")`,
      ]),
    ];
    expectHostIntact(results);
    const after = [statSync(host.secret), statSync(keep), statSync(host.canary)];
    for (const [i, a] of after.entries()) {
      expect(a.mode).toBe(before[i]!.mode);
      expect(a.mtimeMs).toBe(before[i]!.mtimeMs);
    }
    expect(output(results[4]!)).not.toContain("SET");
  });

  it.runIf(enabled)("plants no setuid or setgid file, and writes no kernel setting", async () => {
    const results = [
      await attempt(sandbox, [
        "python3",
        "-c",
        "import shutil, os; shutil.copy('/usr/bin/id', 'suid_id'); os.chmod('suid_id', 0o4755)",
      ]),
      await attempt(sandbox, ["sh", "-c", "cp /usr/bin/id sgid_id; chmod g+s sgid_id; chmod u+s sgid_id"]),
      await attempt(sandbox, [
        "python3",
        "-c",
        "import os; os.close(os.open('created_suid', os.O_CREAT | os.O_WRONLY, 0o4755))",
      ]),
      await attempt(sandbox, ["install", "-m", "4755", "/usr/bin/id", "installed_id"]),
      // Writing back the value that is there changes nothing even if it went through; it must not.
      await attempt(sandbox, [
        "python3",
        "-c",
        "p = '/proc/sys/kernel/core_pattern'; v = open(p).read(); open(p, 'w').write(v); print('WROTE')",
      ]),
    ];
    expectHostIntact(results);
    for (const name of readdirSync(host.root)) {
      const mode = statSync(join(host.root, name)).mode;
      expect({ name, setid: (mode & 0o6000) !== 0 }).toEqual({ name, setid: false });
    }
    expect(output(results[4]!)).not.toContain("WROTE");
  });

  it.runIf(enabled)("changes no device node, nests no user namespace, sets up no io_uring", async () => {
    const before = statSync("/dev/null");
    const results = [
      // the mode that is there: a harmless no-op if it went through; it must not
      await attempt(sandbox, ["chmod", (before.mode & 0o7777).toString(8), "/dev/null"]),
      await attempt(sandbox, ["touch", "-m", "-r", "/dev/null", "/dev/null"]),
      await attempt(sandbox, ["unshare", "-Ur", "id"]),
      await attempt(sandbox, [
        "python3",
        "-c",
        "import ctypes, os\np = (ctypes.c_char * 120)()\nfd = ctypes.CDLL(None, use_errno=True).syscall(425, 8, p)\nprint('IO_URING' if fd >= 0 else 'refused', ctypes.get_errno())",
      ]),
    ];
    expectHostIntact(results);
    expect(statSync("/dev/null").ctimeMs).toBe(before.ctimeMs);
    expect(output(results[2]!)).not.toContain("uid=0(root)");
    expect(output(results[3]!)).not.toContain("IO_URING");
  });

  it.runIf(enabled)(
    "a command that takes the workspace's own permissions away does not break the next",
    async () => {
      const mode = statSync(host.root).mode & 0o7777;
      try {
        await attempt(sandbox, ["chmod", "0", host.root]);
        const next = await sandbox.run({
          command: ["sh", "-c", "echo ok > next.txt; cat next.txt"],
          timeoutMs: 20_000,
        });
        expect(next.stdout).toBe("ok\n");
      } finally {
        chmodSync(host.root, mode);
      }
    },
  );

  it.runIf(enabled)("connects to nothing: TCP on 127.0.0.1, a host UNIX socket, PostgreSQL's", async () => {
    const port = host.tcpPort;
    const results = [];
    const pgSocket = "/run/postgresql/.s.PGSQL.5432";
    for (const command of [
      [
        "node",
        "-e",
        `require('net').connect(${port}, '127.0.0.1').on('connect', () => console.log('CONNECTED'))`,
      ],
      [
        "python3",
        "-c",
        `import socket; s = socket.create_connection(("127.0.0.1", ${port})); print("CONNECTED", s.recv(5))`,
      ],
      [
        "python3",
        "-c",
        `import socket; s = socket.socket(socket.AF_UNIX); s.connect(${JSON.stringify(host.unixPath)}); print("CONNECTED", s.recv(5))`,
      ],
      [
        "python3",
        "-c",
        `import socket; s = socket.socket(socket.AF_UNIX); s.connect("${pgSocket}"); print("CONNECTED")`,
      ],
      [
        "python3",
        "-c",
        `import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("LISTENING")`,
      ],
      ["node", "-e", `fetch('http://127.0.0.1:${port}/batch/jobs').then(() => console.log('CONNECTED'))`],
    ]) {
      results.push(await attempt(sandbox, command));
    }
    expectHostIntact(results);
    for (const r of results) expect(output(r)).not.toMatch(/CONNECTED/);
    // bubblewrap's network namespace has a loopback of its own, reachable from nothing: listening there is
    // harmless. The built-in jail shares the host's network, so it denies sockets altogether.
    if (mode === "builtin") expect(output(results[4]!)).not.toMatch(/LISTENING/);
  });

  it.runIf(enabled)("signals nothing outside the jail: the server's pid is out of reach", async () => {
    const pid = host.victim.pid!;
    const results = [
      await attempt(sandbox, ["kill", "-9", String(pid)]),
      await attempt(sandbox, ["python3", "-c", `import os; os.kill(${pid}, 9)`]),
      await attempt(sandbox, ["node", "-e", `process.kill(${process.pid}, 'SIGKILL')`]),
    ];
    await new Promise((r) => setTimeout(r, 50)); // a signal, had one been sent, is delivered by now
    expectHostIntact(results);
  });

  it.runIf(enabled)(
    "leaves nothing running: setsid, nohup and double-forked daemons end with it",
    async () => {
      const token = `${process.pid % 1000}.${mode.length}${spawner.length}7`;
      const results = [
        await attempt(sandbox, ["sh", "-c", `setsid sleep ${token}1 & sleep 0.2; echo started`]),
        await attempt(sandbox, ["sh", "-c", `nohup sleep ${token}2 >/dev/null 2>&1 & echo started`]),
        await attempt(sandbox, ["sh", "-c", `(sleep ${token}3 &) ; echo started`]),
        await attempt(sandbox, [
          "python3",
          "-c",
          `import os, subprocess\nif os.fork() == 0:\n    try: os.setsid()\n    except OSError: pass\n    subprocess.Popen(["sleep", "${token}4"])\n    os._exit(0)\nprint("started")`,
        ]),
      ];
      expectHostIntact(results);
      await expect.poll(() => processesWith(`sleep ${token}`), { timeout: 10_000 }).toEqual([]);
    },
  );

  it.runIf(enabled)("limits memory, processes, file size and CPU time", async () => {
    const limited = make({
      limits: { memory: 256 * 1024 ** 2, processes: 48, fileSize: 1024 ** 2, cpuSeconds: 1, openFiles: 64 },
    });
    const mem = await attempt(limited, [
      "python3",
      "-c",
      "x = bytearray(600 * 1024 * 1024); print('ALLOCATED')",
    ]);
    expect(output(mem)).toContain("MemoryError");
    const file = await attempt(limited, ["sh", "-c", "head -c 3000000 /dev/zero > big.bin"]);
    expect("blocked" in file ? 0 : (file as RunResult).exit_code).not.toBe(0);
    expect(readFileSync(join(host.root, "big.bin")).length).toBeLessThanOrEqual(1024 ** 2);
    const cpu = (await attempt(limited, ["python3", "-c", "while True: pass"])) as RunResult;
    // killed by SIGXCPU (under bubblewrap, its init reports that as 128 + 24), or SIGKILL a second later
    expect([cpu.signal, cpu.exit_code]).toSatisfy(
      ([sig, code]: [string | null, number | null]) =>
        sig === "SIGXCPU" || sig === "SIGKILL" || code === 152 || code === 137,
    );
    expect(cpu.timed_out).toBe(false);
    const files = await attempt(limited, [
      "python3",
      "-c",
      "fs = []\ntry:\n    while True: fs.append(open('/dev/null'))\nexcept OSError as e: print('OPEN', len(fs), e.errno)",
    ]);
    expect(output(files)).toMatch(/OPEN \d+ 24/);
    const forks = await attempt(limited, [
      "python3",
      "-c",
      `import subprocess\nps = []\ntry:\n    for i in range(200): ps.append(subprocess.Popen(["sleep", "30"]))\nexcept OSError as e: print("FORK FAILED", len(ps))\nfor p in ps: p.kill()`,
    ]);
    expect(output(forks)).toMatch(/FORK FAILED (\d+)/);
    expect(Number(/FORK FAILED (\d+)/.exec(output(forks))?.[1])).toBeLessThan(48);
    rmSync(join(host.root, "big.bin"), { force: true });
  });

  // As root each command gets a pids cgroup of its own; an ordinary user's RLIMIT_NPROC counts all its processes.
  it.runIf(enabled && process.getuid?.() === 0)(
    "one command's fork bomb does not starve another, and leaves no cgroup behind",
    async () => {
      const limited = make({ limits: { ...SANDBOX_DEFAULTS.limits, processes: 40 } });
      const full = join(host.root, "full.txt");
      const stop = new AbortController();
      const bomb = limited.run({
        command: [
          "python3",
          "-c",
          `import subprocess, time\nps = []\ntry:\n    for i in range(500): ps.append(subprocess.Popen(["sleep", "30"]))\nexcept OSError: pass\nopen(${JSON.stringify(full)}, "w").write(str(len(ps)))\ntime.sleep(30)`,
        ],
        timeoutMs: 60_000,
        signal: stop.signal,
      });
      try {
        await expect.poll(() => existsSync(full), { timeout: 20_000 }).toBe(true);
        expect(Number(readFileSync(full, "utf8"))).toBeLessThan(40);
        const other = await limited.run({
          command: ["sh", "-c", "for i in 1 2 3 4 5; do sleep 0.01 & done; wait; echo ok"],
          timeoutMs: 20_000,
        });
        expect(other.stdout).toBe("ok\n");
      } finally {
        stop.abort();
        await bomb;
        rmSync(full, { force: true });
      }
      const leftovers = () =>
        createdPidsCgroups().flatMap((dir) => readdirSync(dir).filter((n) => /^c\d+$/.test(n)));
      await expect.poll(leftovers, { timeout: 10_000 }).toEqual([]);
    },
  );

  it.runIf(enabled && process.getuid?.() === 0)(
    "cgroups left by a server that was killed outright are removed by the next one",
    async () => {
      const base = dirname(createdPidsCgroups()[0]!);
      // a pid above the kernel's limit: no process has it
      const stale = join(base, "ollama-coder-4194305-1");
      mkdirSync(join(stale, "c123"), { recursive: true });
      make(); // a new sandbox makes its group, and sweeps the dead ones
      expect(existsSync(stale)).toBe(false);
    },
  );

  it.runIf(enabled)("ordinary work still runs: python, pytest, node and git inside the root", async () => {
    writeFileSync(join(host.root, "calc.py"), "def add(a, b):\n    return a + b\n");
    writeFileSync(
      join(host.root, "test_calc.py"),
      "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    );
    const py = await sandbox.run({
      command: ["python3", "-c", "import calc, tempfile, os; tempfile.mkstemp(); print(calc.add(1, 2))"],
      timeoutMs: 20_000,
    });
    expect(py.stdout.trim()).toBe("3");
    expect(py.jailed).toBe(true);
    if (hasPytest()) {
      const t = await sandbox.run({ command: "pytest -q -p no:cacheprovider", timeoutMs: 60_000 });
      expect(t.stdout).toContain("1 passed");
      expect(t.exit_code).toBe(0);
    }
    // multiprocessing needs a writable /dev/shm: the jail's own (bubblewrap's, or the built-in jail's as root)
    if (mode === "bwrap" || process.getuid?.() === 0) {
      const mp = await sandbox.run({
        command: [
          "python3",
          "-c",
          "import multiprocessing as m\nif __name__ == '__main__': print(m.Pool(2).map(abs, [-1, -2]))",
        ],
        timeoutMs: 30_000,
      });
      expect(mp.stdout.trim()).toBe("[1, 2]");
    }
    const node = await sandbox.run({
      command: ["node", "-e", "require('fs').writeFileSync('out.json', JSON.stringify({ ok: 1 }))"],
      timeoutMs: 20_000,
    });
    expect(node.exit_code).toBe(0);
    expect(JSON.parse(readFileSync(join(host.root, "out.json"), "utf8"))).toEqual({ ok: 1 });
    const git = await sandbox.run({
      command: [
        "sh",
        "-c",
        "git init -q . && git add calc.py && git -c user.name=t -c user.email=t@e commit -qm one && git log --oneline | wc -l",
      ],
      timeoutMs: 20_000,
    });
    expect(git.stderr).toBe("");
    expect(git.stdout.trim()).toBe("1");
  });
});
