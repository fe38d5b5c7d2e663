import { basename } from "node:path";
import { SecurityBlockError } from "../errors.js";
import { parseCommandLine } from "./command-line.js";

export interface GuardrailOptions {
  /** Extra programs (basenames) to refuse. */
  deny: readonly string[];
  /** When non-empty, only these programs (basenames) may run. */
  allow: readonly string[];
  /** Refuse every command (and, in the file layer, every write). */
  readOnly: boolean;
}

export const DEFAULT_GUARDRAIL = { deny: [], allow: [], readOnly: false } satisfies GuardrailOptions;

/** Programs refused outright: privilege, disks, power. */
const DENIED_PROGRAMS = new Set([
  "sudo",
  "su",
  "doas",
  "pkexec",
  "shutdown",
  "reboot",
  "halt",
  "poweroff",
  "init",
  "telinit",
  "fdisk",
  "sfdisk",
  "cfdisk",
  "parted",
  "wipefs",
  "mount",
  "umount",
  "swapon",
  "swapoff",
  "insmod",
  "rmmod",
  "modprobe",
  "iptables",
  "nft",
  "useradd",
  "userdel",
  "passwd",
  "chpasswd",
  "visudo",
  "crontab",
]);

/** Programs that run another command given as their arguments. */
const WRAPPERS = new Set([
  "env",
  "nice",
  "nohup",
  "timeout",
  "time",
  "stdbuf",
  "ionice",
  "setsid",
  "command",
  "exec",
  "xargs",
  "chroot",
  "unbuffer",
  "watch",
]);
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "fish", "busybox"]);
const BLOCK_DEVICE =
  /^\/dev\/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk|mapper\/|md\d|loop\d|dm-)/;

function programName(arg: string): string {
  return basename(arg).toLowerCase();
}

/** Skips a wrapper's own options and values to reach the command it runs. */
function wrappedCommand(name: string, args: string[]): string[] {
  let i = 0;
  if (name === "env") {
    while (i < args.length && (args[i]!.startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[i]!))) {
      if (["-u", "--unset", "-C", "--chdir", "-S", "--split-string"].includes(args[i]!)) i++;
      i++;
    }
    return args.slice(i);
  }
  while (i < args.length && args[i]!.startsWith("-")) {
    if (
      [
        "-n",
        "-c",
        "-k",
        "-s",
        "--signal",
        "--kill-after",
        "-o",
        "-e",
        "-i",
        "-I",
        "-L",
        "-P",
        "-d",
        "-a",
      ].includes(args[i]!)
    )
      i++;
    i++;
  }
  if (name === "timeout" && i < args.length) i++; // the duration
  if (name === "chroot" && i < args.length) i++; // the new root
  return args.slice(i);
}

/**
 * Refuses destructive commands before they run, looking at argv (not substrings), through wrappers
 * (`env`, `timeout`, `xargs`, …), `sh -c "…"` strings and `find -exec`.
 */
export class Guardrail {
  private readonly deny: Set<string>;
  private readonly allow: Set<string>;

  constructor(readonly options: GuardrailOptions = DEFAULT_GUARDRAIL) {
    this.deny = new Set(options.deny.map((d) => d.toLowerCase()));
    this.allow = new Set(options.allow.map((a) => a.toLowerCase()));
  }

  check(argv: readonly string[]): void {
    if (this.options.readOnly) throw new SecurityBlockError("the sandbox is read-only: commands are refused");
    this.checkArgv(argv, 0);
  }

  private checkArgv(argv: readonly string[], depth: number): void {
    if (depth > 8) throw new SecurityBlockError("command nests too many wrappers");
    if (argv.length === 0) return;
    const name = programName(argv[0]!);
    const args = argv.slice(1);
    if (this.allow.size > 0 && !this.allow.has(name) && depth === 0) {
      throw new SecurityBlockError(`'${name}' is not in the allow list (${[...this.allow].join(", ")})`);
    }
    if (DENIED_PROGRAMS.has(name) || this.deny.has(name))
      throw new SecurityBlockError(`'${name}' is not allowed`);
    if (/^mkfs(\..+)?$/.test(name) || name === "mke2fs" || name === "mkswap") {
      throw new SecurityBlockError(`'${name}' formats file systems`);
    }
    if (
      name === "systemctl" &&
      args.some((a) => ["poweroff", "reboot", "halt", "kexec", "suspend", "hibernate"].includes(a))
    ) {
      throw new SecurityBlockError(`'systemctl ${args.join(" ")}' powers the machine off`);
    }
    if (name === "rm") this.checkRm(args);
    if (name === "chmod" || name === "chown" || name === "chgrp") this.checkRecursiveOnRoot(name, args);
    for (const a of args) {
      const device = a.startsWith("of=") ? a.slice(3) : a;
      if (
        BLOCK_DEVICE.test(device) &&
        (a.startsWith("of=") || ["dd", "tee", "cp", "mv", "cat", "shred"].includes(name))
      ) {
        throw new SecurityBlockError(`writing to the block device ${device} is not allowed`);
      }
    }
    if (name === "shred" && args.some((a) => a.startsWith("/dev/")))
      throw new SecurityBlockError("shred of a device");
    if (name === "kill" || name === "pkill" || name === "killall") {
      if (args.includes("-1") || args.some((a) => a === "1") || (name === "killall" && args.includes("-u")))
        throw new SecurityBlockError(`'${name} ${args.join(" ")}' would signal every process`);
    }
    if (WRAPPERS.has(name)) this.checkArgv(wrappedCommand(name, args), depth + 1);
    if (SHELLS.has(name)) {
      const c = args.findIndex((a) => a === "-c" || (/^-[a-z]*c[a-z]*$/.test(a) && !a.startsWith("--")));
      const script = c >= 0 ? args[c + 1] : undefined;
      if (script !== undefined) this.checkScript(script, depth);
    }
    if (name === "find") {
      for (let i = 0; i < args.length; i++) {
        if (["-exec", "-execdir", "-ok", "-okdir"].includes(args[i]!)) {
          const end = args.findIndex((a, j) => j > i && (a === ";" || a === "+"));
          this.checkArgv(args.slice(i + 1, end < 0 ? undefined : end), depth + 1);
        }
        if (args[i] === "-delete" && args.slice(0, i).some((a) => a === "/" || a === "~")) {
          throw new SecurityBlockError("'find / -delete' deletes the file system");
        }
      }
    }
  }

  /** A shell script string: each simple command in it is checked. */
  private checkScript(script: string, depth: number): void {
    for (const part of script.split(/;|&&|\|\||\||\n|&/)) {
      const trimmed = part.trim();
      if (!trimmed) continue;
      let argv: string[];
      try {
        argv = parseCommandLine(trimmed.replace(/[<>].*$/, ""));
      } catch {
        continue;
      }
      this.checkArgv(argv, depth + 1);
    }
  }

  private checkRm(args: string[]): void {
    let recursive = false;
    let force = false;
    for (const a of args) {
      if (a === "--") break;
      if (a === "--recursive") recursive = true;
      else if (a === "--force") force = true;
      else if (a === "--no-preserve-root") throw new SecurityBlockError("rm --no-preserve-root");
      else if (/^-[a-zA-Z]+$/.test(a)) {
        if (/[rR]/.test(a)) recursive = true;
        if (a.includes("f")) force = true;
      }
    }
    if (recursive && force)
      throw new SecurityBlockError(
        `'rm ${args.join(" ")}': recursive forced removal (rm -rf) is not allowed`,
      );
    const targets = args.filter((a) => !a.startsWith("-"));
    if (recursive && targets.some((t) => ["/", "/*", "~", "~/", "*", ".", "..", "./", "../"].includes(t))) {
      throw new SecurityBlockError(`'rm ${args.join(" ")}' would remove a whole tree`);
    }
  }

  private checkRecursiveOnRoot(name: string, args: string[]): void {
    const recursive = args.some((a) => a === "-R" || a === "--recursive" || /^-[a-zA-Z]*R/.test(a));
    if (recursive && args.some((a) => a === "/" || a === "/*")) {
      throw new SecurityBlockError(`'${name} -R' on / is not allowed`);
    }
  }
}
