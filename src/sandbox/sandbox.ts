import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoderError, ConfigError, NotFoundError, SecurityBlockError } from "../errors.js";
import {
  builtinJailSpec,
  limitSpec,
  type ProcessLimit,
  probeBuiltinJail,
  processSpec,
} from "./builtin-jail.js";
import { parseCommandLine } from "./command-line.js";
import { DEFAULT_GUARDRAIL, Guardrail, type GuardrailOptions } from "./guardrail.js";
import { bwrapRoot, probeBubblewrap, type SandboxMode } from "./jail.js";
import { jailView, TOOLCHAIN_HOME_VARS } from "./jail-view.js";
import { type CommandLimits, DEFAULT_LIMITS } from "./limits.js";
import { isInside, PathSandbox } from "./path-sandbox.js";
import { createPidsCgroup, processesOfUser } from "./pids-cgroup.js";
import { type RunResult, runCommand } from "./run-command.js";
import { DEFAULT_FILE_LIMITS, type FileLimits, SandboxFiles } from "./sandbox-files.js";
import { sharedSpawnHelper, spawnHelperPath } from "./spawn-helper.js";

export interface SandboxOptions {
  root: string;
  /** Directories commands must not see (the server's data dir). */
  hidden: readonly string[];
  mode: SandboxMode;
  guardrail: GuardrailOptions;
  /** Bytes kept from the head and from the tail of each output stream. */
  outputCap: number;
  /** Environment variables passed to commands besides the minimal set. */
  envPassthrough: readonly string[];
  fileLimits: FileLimits;
  /** How commands start: oc-spawner where built (auto), oc-spawner required (helper), Node's spawn (node). */
  spawner: SpawnerMode;
  /** What each jailed command may use. */
  limits: CommandLimits;
  /** More paths jailed commands may read (and execute), besides the system and the toolchains on PATH. */
  jailRead: readonly string[];
}

export type SpawnerMode = "auto" | "helper" | "node";

export const SANDBOX_DEFAULTS = {
  hidden: [] as string[],
  mode: "auto",
  guardrail: DEFAULT_GUARDRAIL,
  outputCap: 64 * 1024,
  envPassthrough: [] as string[],
  fileLimits: DEFAULT_FILE_LIMITS,
  spawner: "auto",
  limits: DEFAULT_LIMITS,
  jailRead: [] as string[],
} satisfies Omit<SandboxOptions, "root">;

/** What toolchains need to be found, and nothing else of the server's environment. */
const BASE_ENV = ["PATH", "HOME", "LANG", "TZ", "PYENV_VERSION", ...TOOLCHAIN_HOME_VARS];

export interface RunRequest {
  /** A command string (parsed without a shell) or argv. */
  command: string | readonly string[];
  /** Appended as separate arguments after the parsed command (e.g. the target path). */
  extraArgs?: readonly string[];
  /** Directory inside the root (default: the root). */
  cwd?: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** `command -v` inside the jail; a file it names must also open there (Landlock does not confine `access`). */
const FIND_PROGRAM =
  'p=$(command -v -- "$1") || exit 1; case $p in */*) : < "$p" || exit 1;; esac; printf "%s\\n" "$p"';

/** How to get a jail, for the refusal message. */
const NO_JAIL_HINT =
  "Install bubblewrap (apt-get install bubblewrap), or build the built-in jail (a C compiler when `npm ci` " +
  "runs, on Linux 5.13+ with Landlock), or start the server with --sandbox off to run commands unjailed";

/** Which jail confines commands, or why none does. */
interface JailChoice {
  kind: "bwrap" | "builtin" | null;
  note: string;
  /** Set when commands are refused (no jail could be had). */
  refusal: string | null;
}

/** auto: bubblewrap, else the built-in jail, else refusal; a named jail is required; off is said loudly. */
function chooseJail(mode: SandboxMode, root: string, hidden: readonly string[]): JailChoice {
  if (mode === "off")
    return {
      kind: null,
      refusal: null,
      note: "WARNING: commands run UNJAILED (--sandbox off): any command an item or a model runs can read, change and delete everything this user can, and reach the network",
    };
  const bwrap = mode === "auto" || mode === "bwrap" ? probeBubblewrap() : null;
  if (bwrap?.ok)
    return {
      kind: "bwrap",
      refusal: null,
      note: "commands run in a bubblewrap jail (read-only system and toolchains, writable workspace, private /tmp, no network, uid 65534, no capabilities)",
    };
  if (mode === "bwrap") throw new ConfigError(`--sandbox bwrap: ${bwrap?.reason}`);
  const builtin = probeBuiltinJail();
  // Landlock only grants: a directory inside the workspace cannot be taken out of it again.
  const inRoot = hidden.find((h) => isInside(root, h));
  const reason = !builtin.ok
    ? builtin.reason
    : inRoot
      ? `the server's data directory (${inRoot}) is inside the project root, which the built-in jail cannot hide (move it with --data-dir)`
      : null;
  if (reason === null)
    return {
      kind: "builtin",
      refusal: null,
      note: `commands run in the built-in jail (Landlock ABI ${builtin.abi} + seccomp: read-only system and toolchains, writable workspace, no network, no capabilities)`,
    };
  if (mode === "builtin") throw new ConfigError(`--sandbox builtin: ${reason}`);
  const why = `no jail is available on this machine (${bwrap?.reason}; ${reason})`;
  return {
    kind: null,
    refusal: `commands are refused: ${why}. ${NO_JAIL_HINT}`,
    note: `commands are REFUSED: ${why}. ${NO_JAIL_HINT}`,
  };
}

/** pyenv's shims find their home through PYENV_ROOT or $HOME/.pyenv; a jail gives commands another HOME. */
function pyenvRoot(path: string | undefined): string | undefined {
  return (path ?? "")
    .split(":")
    .map((p) => /^(.*\/\.pyenv)\/(shims|bin)$/.exec(p)?.[1])
    .find(Boolean);
}

/**
 * The only way any code touches the filesystem or runs a command: paths stay inside the root, commands pass
 * the guardrail, run without a shell, and are jailed (bubblewrap, else the built-in jail) or refused unless
 * the jail is turned off by hand.
 */
export class Sandbox {
  readonly paths: PathSandbox;
  readonly files: SandboxFiles;
  readonly guardrail: Guardrail;
  /** Which jail confines commands (null: none; see `refusal`). */
  readonly jail: "bwrap" | "builtin" | null;
  /** Why commands are refused (no jail could be had), or null. */
  readonly refusal: string | null;
  /** Why the sandbox is (not) jailed, for the start-up log. */
  readonly jailNote: string;
  /** How commands start, for the start-up log. */
  readonly spawnerNote: string;
  private readonly useHelper: boolean;
  private readonly env: NodeJS.ProcessEnv;
  /** bubblewrap's arguments but the working directory: built once (they stat every path of the view). */
  private readonly bwrapRoot: string[] | null = null;
  /** Built-in jail spec (or the limits alone, under bubblewrap); empty when none applies. */
  private readonly jailSpec: string[] = [];

  /** How the process limit is enforced: made once, and shared by the sandboxes `rootedAt` derives. */
  private readonly processes: (ProcessLimit & { note: string | null }) | null = null;

  constructor(
    private readonly o: SandboxOptions,
    inherited: (ProcessLimit & { note: string | null }) | null = null,
  ) {
    this.paths = new PathSandbox(o.root, o.hidden);
    this.files = new SandboxFiles(this.paths, o.fileLimits, o.guardrail.readOnly);
    this.guardrail = new Guardrail(o.guardrail);
    const choice = chooseJail(o.mode, this.paths.root, o.hidden);
    this.jail = choice.kind;
    this.refusal = choice.refusal;
    const helperPath = o.spawner === "node" ? null : spawnHelperPath();
    if (o.spawner === "helper" && !helperPath)
      throw new ConfigError(
        "--spawner helper: oc-spawner is not built (it needs Linux and a C compiler when `npm ci` builds)",
      );
    this.useHelper = helperPath !== null;
    this.spawnerNote = helperPath
      ? "commands start through oc-spawner (posix_spawn)"
      : o.spawner === "node"
        ? "commands start with Node's spawn (--spawner node)"
        : "commands start with Node's spawn (oc-spawner is not built: it needs Linux and a C compiler)";
    const env: NodeJS.ProcessEnv = { LANG: "C.UTF-8", TERM: "dumb", TMPDIR: "/tmp" };
    for (const name of [...BASE_ENV, ...o.envPassthrough])
      if (process.env[name] !== undefined) env[name] = process.env[name];
    let note = choice.note;
    if (this.jailed) {
      const view = jailView(process.env, o.jailRead);
      // A jailed command has a home and a temp directory of its own: the private /tmp under bubblewrap, a
      // directory only the jail may write under the built-in jail.
      const tmp = this.jail === "bwrap" ? "/tmp" : jailTempDir();
      env.PYENV_ROOT ??= pyenvRoot(env.PATH);
      env.HOME = tmp;
      env.TMPDIR = tmp;
      env.XDG_CACHE_HOME = join(tmp, ".cache");
      const processes = inherited ?? processLimit(o.limits.processes);
      this.processes = processes;
      if (processes.note) note += `; ${processes.note}`;
      if (this.jail === "builtin")
        this.jailSpec = builtinJailSpec({
          view,
          writable: [this.paths.root, tmp],
          limits: o.limits,
          processes,
          shm: process.getuid?.() === 0 ? jailShmDir(tmp) : null,
        });
      else {
        this.bwrapRoot = bwrapRoot({ workspace: this.paths.root, hidden: o.hidden, view });
        if (spawnHelperPath())
          this.jailSpec = [...limitSpec(o.limits), ...processSpec(processes, o.limits.processes)];
        else note += "; no resource limits and no setuid rule (oc-spawner, which sets them, is not built)";
      }
    }
    this.jailNote = note;
    this.env = env;
  }

  /**
   * A jailed command is the root's owner without its powers: one that took the owner's permissions away from
   * the project root (`chmod 0 .`) would lock every later command out of it. They are given back.
   */
  private keepRootEnterable(): void {
    const mode = statSync(this.paths.root).mode & 0o7777;
    if ((mode & 0o700) !== 0o700) chmodSync(this.paths.root, mode | 0o700);
  }

  get jailed(): boolean {
    return this.jail !== null;
  }

  /** For /health: which jail, and whether commands run jailed, unjailed or not at all. */
  status(): Readonly<Record<string, string>> {
    const commands = this.jailed ? "jailed" : this.refusal ? "refused" : "UNJAILED";
    return { jail: this.jail ?? "none", commands, note: this.jailNote };
  }

  get root(): string {
    return this.paths.root;
  }

  /**
   * The same sandbox around another root (an agent task's own workspace): its tools and commands see that
   * directory and nothing of the project's, but the `readable` paths (the project's shared dependency
   * directories), which jailed commands may read and not write.
   */
  rootedAt(root: string, readable: readonly string[] = []): Sandbox {
    return new Sandbox(
      { ...this.o, root, hidden: [], jailRead: [...this.o.jailRead, ...readable] },
      this.processes,
    );
  }

  /** A working directory inside the root (created when missing). */
  workspace(sub?: string | null, o: { mustExist?: boolean } = {}): string {
    if (!sub) return this.paths.root;
    // A task's own folder (an item's `workspace`) must be there: a misspelt one would quietly become a new one.
    if (o.mustExist && !statSync(this.paths.resolve(sub), { throwIfNoEntry: false })?.isDirectory())
      throw new NotFoundError(
        `workspace '${sub}' is not a directory in the project: create it first, or leave workspace out`,
      );
    // `sub/.` makes the directory beneath the root, one component at a time, never through a link out.
    try {
      return this.paths.resolveForWrite(`${sub.replace(/\/+$/, "")}/.`);
    } catch (e: unknown) {
      if (e instanceof CoderError && /is not a directory/.test(e.message))
        throw new CoderError("invalid_input", `workspace '${sub}' is not a directory`);
      throw e;
    }
  }

  /** Parses, checks and runs; a refusal throws SecurityBlockError, a bad command line CoderError. */
  async run(req: RunRequest): Promise<RunResult> {
    const argv = typeof req.command === "string" ? parseCommandLine(req.command) : [...req.command];
    if (req.extraArgs) argv.push(...req.extraArgs);
    this.guardrail.check(argv);
    return this.launch(argv, req);
  }

  /**
   * Where a command's program is found by the commands this sandbox runs: looked up inside the same jail,
   * with the same PATH and working directory (`command -v`, so a path such as `./check.sh` must be there and
   * executable, and readable to the jail: Landlock lets `access` pass where `exec` is refused). `found: null`
   * when it cannot be told (commands refused, the look-up itself failed).
   */
  async findProgram(
    program: string,
    o: { cwd?: string; signal?: AbortSignal } = {},
  ): Promise<{ found: true; path: string } | { found: false } | { found: null; reason: string }> {
    if (this.refusal) return { found: null, reason: this.refusal };
    if (this.o.guardrail.readOnly) return { found: null, reason: "read-only: no command runs" };
    const run = await this.launch(["/bin/sh", "-c", FIND_PROGRAM, "sh", program], {
      cwd: o.cwd,
      timeoutMs: 30_000,
      signal: o.signal,
    });
    if (run.spawn_error || run.timed_out || run.cancelled || run.exit_code === null)
      return { found: null, reason: run.spawn_error ?? "the look-up did not finish" };
    const path = run.stdout.trim();
    return run.exit_code === 0 && path ? { found: true, path } : { found: false };
  }

  /** Runs argv (already checked) in the jail. */
  private launch(argv: string[], req: Omit<RunRequest, "command" | "extraArgs">): Promise<RunResult> {
    if (this.refusal) throw new SecurityBlockError(this.refusal);
    if (this.jailed) this.keepRootEnterable();
    const cwd = req.cwd ? this.paths.resolve(req.cwd) : this.paths.root;
    const jailPrefix = this.bwrapRoot ? [...this.bwrapRoot, "--chdir", cwd, "--"] : undefined;
    return runCommand(argv, {
      cwd,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      env: this.env,
      outputCap: this.o.outputCap,
      jailPrefix,
      jail: this.jailSpec,
      jailed: this.jailed,
      helper: this.useHelper ? sharedSpawnHelper() : null,
    });
  }
}

let jailTemp: string | null = null;

/** The built-in jail's home and temp directory: one per server process, private to it, removed at exit. */
function jailTempDir(): string {
  if (jailTemp) return jailTemp;
  const dir = mkdtempSync(join(tmpdir(), "ollama-coder-jail-"));
  chmodSync(dir, 0o700);
  jailTemp = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The jail's /dev/shm (for Python's multiprocessing and the like): a directory in its temp directory. */
function jailShmDir(tmp: string): string {
  const dir = join(tmp, ".shm");
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o1777);
  return dir;
}

/**
 * How the process limit is enforced: a pids cgroup of its own for each command where they can be made (root,
 * whom RLIMIT_NPROC does not bind), else RLIMIT_NPROC — which counts every process of the user, so it is set
 * that far above what the user runs now.
 */
function processLimit(max: number): ProcessLimit & { note: string | null } {
  const uid = process.getuid?.() ?? -1;
  const cgroup = uid === 0 ? createPidsCgroup() : null;
  if (cgroup) return { nproc: null, cgroups: [cgroup], note: null };
  if (uid === 0)
    return { nproc: null, cgroups: [], note: "no process limit (no writable pids cgroup for a root server)" };
  return { nproc: processesOfUser(uid) + max, cgroups: [], note: null };
}
