import { describe, expect, it } from "vitest";
import { parseCommandLine, pathArgument } from "../src/sandbox/command-line.js";
import { Guardrail } from "../src/sandbox/guardrail.js";

const BLOCKED = [
  "rm -rf /",
  "rm -rf .",
  "rm -fr build",
  "rm -r -f src",
  "rm --recursive --force src",
  "rm -Rf ~",
  "rm -r /",
  "rm --no-preserve-root -r /",
  "/bin/rm -rf src",
  "sudo ls",
  "su root",
  "doas reboot",
  "mkfs.ext4 /dev/sda1",
  "mkfs /dev/sdb",
  "mke2fs /dev/sda",
  "shutdown -h now",
  "reboot",
  "poweroff",
  "halt",
  "systemctl poweroff",
  "dd if=/dev/zero of=/dev/sda",
  "dd if=/dev/zero of=/dev/nvme0n1 bs=1M",
  "tee /dev/sdb",
  "cp image.iso /dev/sdc",
  "env FOO=1 sudo ls",
  "timeout 5 rm -rf src",
  "nice -n 10 rm -rf src",
  "xargs rm -rf",
  "sh -c 'rm -rf /'",
  "bash -lc 'echo hi; sudo reboot'",
  "find . -name '*.pyc' -exec rm -rf {} \\;",
  "find / -delete",
  "chmod -R 777 /",
  "kill -9 -1",
  "fdisk /dev/sda",
  "mount /dev/sda1 /mnt",
];

const ALLOWED = [
  "pytest -q",
  "ruff check src",
  "rm build/output.txt",
  "rm -r build",
  "rm -f stale.lock",
  "ls -la",
  "echo rm -rf /",
  "grep -r sudo src",
  "python -m pytest tests",
  "git status",
  "dd if=input.bin of=output.bin",
  "find . -name '*.py'",
  "sh -c 'echo hello'",
  "cat /dev/null",
];

describe("guardrail (argv, not substrings)", () => {
  const g = new Guardrail();
  it.each(BLOCKED)("refuses %s", (cmd) => {
    expect(() => g.check(parseCommandLine(cmd))).toThrow(/^SECURITY BLOCK: /);
  });
  it.each(ALLOWED)("allows %s", (cmd) => {
    expect(() => g.check(parseCommandLine(cmd))).not.toThrow();
  });

  it("takes a configurable deny list and allow list", () => {
    const deny = new Guardrail({ deny: ["curl", "wget"], allow: [], readOnly: false });
    expect(() => deny.check(["curl", "http://x"])).toThrow(/'curl' is not allowed/);
    expect(() => deny.check(["env", "wget", "x"])).toThrow(/'wget' is not allowed/);
    const allow = new Guardrail({ deny: [], allow: ["pytest", "ruff"], readOnly: false });
    expect(() => allow.check(["pytest", "-q"])).not.toThrow();
    expect(() => allow.check(["python", "-c", "1"])).toThrow(/not in the allow list/);
  });

  it("read-only mode refuses every command", () => {
    expect(() => new Guardrail({ deny: [], allow: [], readOnly: true }).check(["ls"])).toThrow(/read-only/);
  });
});

describe("command-line parsing (no shell)", () => {
  it("splits words and quotes like a shell, keeping $VARS and globs literal", () => {
    expect(parseCommandLine("pytest -q 'tests/my test.py'")).toEqual(["pytest", "-q", "tests/my test.py"]);
    expect(parseCommandLine('echo "a b" c\\ d')).toEqual(["echo", "a b", "c d"]);
    expect(parseCommandLine("echo $HOME *.py")).toEqual(["echo", "$HOME", "*.py"]);
  });

  it.each([
    "ls | wc -l",
    "ls; rm x",
    "ls && rm x",
    "ls || true",
    "ls > out.txt",
    "cat < /etc/passwd",
    "sleep 1 &",
    "echo $(whoami)",
    "echo `id`",
  ])("refuses shell syntax in %s with a message that says so", (cmd) => {
    expect(() => parseCommandLine(cmd)).toThrow(/not allowed/);
  });

  it("a path with spaces or ';' stays one argument; a path starting with '-' cannot become an option", () => {
    expect([...parseCommandLine("ruff check"), pathArgument("src/a b;rm -rf x.py")]).toEqual([
      "ruff",
      "check",
      "src/a b;rm -rf x.py",
    ]);
    expect(pathArgument("-rf")).toBe("./-rf");
    expect(pathArgument("--help")).toBe("./--help");
  });
});
