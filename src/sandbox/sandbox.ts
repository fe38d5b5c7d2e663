import { mkdirSync, statSync } from "node:fs";
import { CoderError, ConfigError } from "../errors.js";
import { parseCommandLine } from "./command-line.js";
import { DEFAULT_GUARDRAIL, Guardrail, type GuardrailOptions } from "./guardrail.js";
import { bwrapArgs, probeBubblewrap, type SandboxMode } from "./jail.js";
import { PathSandbox } from "./path-sandbox.js";
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
} satisfies Omit<SandboxOptions, "root">;

/** What toolchains need to be found, and nothing else of the server's environment. */
const BASE_ENV = [
  "PATH",
  "HOME",
  "LANG",
  "TZ",
  "PYENV_ROOT",
  "PYENV_VERSION",
  "VIRTUAL_ENV",
  "JAVA_HOME",
  "GOROOT",
  "GOPATH",
  "CARGO_HOME",
  "RUSTUP_HOME",
];

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

/**
 * The only way any code touches the filesystem or runs a command: paths stay inside the root, commands pass
 * the guardrail and run without a shell, jailed by bubblewrap where it works.
 */
export class Sandbox {
  readonly paths: PathSandbox;
  readonly files: SandboxFiles;
  readonly guardrail: Guardrail;
  readonly jailed: boolean;
  /** Why the sandbox is (not) jailed, for the start-up log. */
  readonly jailNote: string;
  /** How commands start, for the start-up log. */
  readonly spawnerNote: string;
  private readonly useHelper: boolean;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly o: SandboxOptions) {
    this.paths = new PathSandbox(o.root, o.hidden);
    this.files = new SandboxFiles(this.paths, o.fileLimits, o.guardrail.readOnly);
    this.guardrail = new Guardrail(o.guardrail);
    if (o.mode === "off") {
      this.jailed = false;
      this.jailNote = "commands run unjailed (--sandbox off)";
    } else {
      const probe = probeBubblewrap();
      if (!probe.ok && o.mode === "bwrap") throw new ConfigError(`--sandbox bwrap: ${probe.reason}`);
      this.jailed = probe.ok;
      this.jailNote = probe.ok
        ? "commands run in a bubblewrap jail (read-only system, writable workspace, private /tmp, no network)"
        : `commands run unjailed: ${probe.reason} (install bubblewrap for a jail)`;
    }
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
    if (this.jailed) env.XDG_CACHE_HOME = "/tmp/.cache";
    this.env = env;
  }

  get root(): string {
    return this.paths.root;
  }

  /** A working directory inside the root (created when missing). */
  workspace(sub?: string | null): string {
    if (!sub) return this.paths.root;
    const dir = this.paths.resolveForWrite(`${sub.replace(/\/+$/, "")}/.`);
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory())
      throw new CoderError("invalid_input", `workspace '${sub}' is not a directory`);
    return dir;
  }

  /** Parses, checks and runs; a refusal throws SecurityBlockError, a bad command line CoderError. */
  async run(req: RunRequest): Promise<RunResult> {
    const argv = typeof req.command === "string" ? parseCommandLine(req.command) : [...req.command];
    if (req.extraArgs) argv.push(...req.extraArgs);
    this.guardrail.check(argv);
    const cwd = req.cwd ? this.paths.resolve(req.cwd) : this.paths.root;
    const jailPrefix = this.jailed
      ? bwrapArgs({ workspace: this.paths.root, hidden: this.o.hidden, cwd })
      : undefined;
    return runCommand(argv, {
      cwd,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      env: this.env,
      outputCap: this.o.outputCap,
      jailPrefix,
      helper: this.useHelper ? sharedSpawnHelper() : null,
    });
  }
}
