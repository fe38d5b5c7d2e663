import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { PINNED } from "../src/sandbox/beneath.js";
import { PathSandbox } from "../src/sandbox/path-sandbox.js";
import { SandboxFiles } from "../src/sandbox/sandbox-files.js";
import { tempDir } from "./helpers/temp.js";

/**
 * The resolution beneath the root (src/sandbox/beneath.ts), through the file operations that use it: with
 * directories held open (Linux), and the fallback by path (no /proc/self/fd).
 */
function setup(pinned: boolean) {
  const base = tempDir();
  const root = join(base, "project");
  const outside = join(base, "outside");
  const data = join(root, ".data");
  for (const d of [join(root, "src", "deep"), outside, data]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, "src", "a.py"), "a\n");
  writeFileSync(join(root, "src", "deep", "b.py"), "b\n");
  writeFileSync(join(outside, "secret.txt"), "outside secret");
  writeFileSync(join(data, "batch_jobs.db"), "db");
  const link = (target: string, name: string) => symlinkSync(target, join(root, name));
  link(join(root, "src"), "abs-in"); // absolute, inside
  link("src", "rel-in"); // relative, inside
  link("..", "src/up"); // climbs back to the root
  link("../..", "src/up-out"); // climbs above it
  link("../outside", "rel-out");
  link("nowhere/../../outside/x", "lexical-out"); // out through a directory that is not there
  link(outside, "abs-out");
  link("src/a.py", "file-in");
  link("src/new.txt", "dangling-in");
  link(join(outside, "new.txt"), "dangling-out");
  link("loop-b", "loop-a");
  link("loop-a", "loop-b");
  link("self", "self");
  link(".data", "to-data");
  link(".data/..", "through-data");
  link(".data/new/../..", "data-mkdir");
  const paths = new PathSandbox(root, [data], pinned);
  return { root, outside, data, paths, files: new SandboxFiles(paths) };
}

function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

describe.each([
  ["held-open directories", true],
  ["the fallback by path", false],
])("resolution beneath the root: %s", (_name, pinned) => {
  it.skipIf(pinned && !PINNED)("follows `..` only as far as the root", async () => {
    const { files, paths, root } = setup(pinned);
    await expect(files.read("src/../../outside/secret.txt")).rejects.toThrow(
      /^SECURITY BLOCK: path '.*' is outside the project root$/,
    );
    expect((await files.read("src/up/src/a.py")).path).toBe("src/a.py");
    expect((await files.list("src/up")).path).toBe(".");
    await expect(files.read("src/up-out/outside/secret.txt")).rejects.toThrow(
      /leads outside the project root through a symlink/,
    );
    await expect(files.list("src/up-out")).rejects.toThrow(
      /leads outside the project root through a symlink/,
    );
    expect(paths.resolve("src/deep/../a.py")).toBe(join(root, "src", "a.py"));
  });

  it.skipIf(pinned && !PINNED)("takes absolute paths inside the root and refuses those outside", async () => {
    const { files, outside, root } = setup(pinned);
    expect((await files.read(join(root, "src", "deep", "b.py"))).content).toBe("b\n");
    expect((await files.write(join(root, "src", "c.py"), "c")).path).toBe("src/c.py");
    expect((await files.list(root)).path).toBe(".");
    await expect(files.read(join(outside, "secret.txt"))).rejects.toThrow(/is outside the project root/);
    await expect(files.write(join(outside, "x.txt"), "x")).rejects.toThrow(/is outside the project root/);
    await expect(files.list(outside)).rejects.toThrow(/is outside the project root/);
  });

  it.skipIf(pinned && !PINNED)("follows symlinks that stay inside, absolute or relative", async () => {
    const { files, paths, root } = setup(pinned);
    expect(await files.read("abs-in/deep/b.py")).toEqual({ path: "src/deep/b.py", content: "b\n", bytes: 2 });
    expect((await files.read("rel-in/a.py")).path).toBe("src/a.py");
    expect((await files.read("file-in")).path).toBe("src/a.py");
    expect((await files.list("abs-in")).entries.map((e) => e.name)).toEqual(["a.py", "deep", "up", "up-out"]);
    // Writing through a link writes its target; the link stays.
    expect(await files.write("file-in", "A\n")).toEqual({ path: "src/a.py", bytes: 2, created: false });
    expect(readFileSync(join(root, "src", "a.py"), "utf8")).toBe("A\n");
    expect(lstatSync(join(root, "file-in")).isSymbolicLink()).toBe(true);
    expect(paths.resolve("rel-in/deep")).toBe(join(root, "src", "deep"));
  });

  it.skipIf(pinned && !PINNED)("refuses symlinks that lead out, for every operation", async () => {
    const { files, outside, paths } = setup(pinned);
    for (const p of ["rel-out/secret.txt", "abs-out/secret.txt", "dangling-out"]) {
      await expect(files.read(p)).rejects.toThrow(/^SECURITY BLOCK: .*symlink/);
      await expect(files.write(p, "x")).rejects.toThrow(/^SECURITY BLOCK: .*symlink/);
      expect(() => paths.resolve(p)).toThrow(/leads outside the project root through a symlink/);
    }
    await expect(files.write("abs-out/deeper/x.txt", "x")).rejects.toThrow(/through a symlink/);
    // Out through a directory that is not there: nothing to read, and refused to write or name.
    await expect(files.read("lexical-out")).rejects.toThrow(/no such file or directory/);
    await expect(files.write("lexical-out", "x")).rejects.toThrow(/through a symlink/);
    expect(() => paths.resolve("lexical-out")).toThrow(/through a symlink/);
    await expect(files.list("rel-out")).rejects.toThrow(/through a symlink/);
    expect(readdirSync(outside)).toEqual(["secret.txt"]);
  });

  it.skipIf(pinned && !PINNED)(
    "a dangling symlink inside: not found to read, its target created to write",
    async () => {
      const { files, root } = setup(pinned);
      await expect(files.read("dangling-in")).rejects.toThrow(/no such file or directory: 'dangling-in'/);
      expect(await files.write("dangling-in", "new")).toEqual({
        path: "src/new.txt",
        bytes: 3,
        created: true,
      });
      expect(readFileSync(join(root, "src", "new.txt"), "utf8")).toBe("new");
      expect(readlinkSync(join(root, "dangling-in"))).toBe("src/new.txt");
    },
  );

  it.skipIf(pinned && !PINNED)("stops at symlink loops", async () => {
    const { files } = setup(pinned);
    for (const p of ["loop-a", "self", "loop-b/x"]) {
      await expect(files.read(p)).rejects.toThrow(/too many levels of symlinks/);
      await expect(files.write(p, "x")).rejects.toThrow(/too many levels of symlinks/);
    }
    await expect(files.list("loop-a")).rejects.toThrow(/too many levels of symlinks/);
  });

  it.skipIf(pinned && !PINNED)("reads only regular files: a FIFO, directly or through a link", async () => {
    const { files, root } = setup(pinned);
    execFileSync("mkfifo", [join(root, "src", "pipe")]);
    symlinkSync("src/pipe", join(root, "pipe-link"));
    await expect(files.read("src/pipe")).rejects.toThrow(/not a regular file/);
    await expect(files.read("pipe-link")).rejects.toThrow(/not a regular file/);
    await expect(files.list("src/pipe")).rejects.toThrow(/'src\/pipe' is not a directory/);
  });

  it.skipIf(!pinned || !PINNED)("never opens a file outside the root, not even to refuse it", async () => {
    const { files, outside } = setup(pinned);
    // A writer blocks on a FIFO until someone opens it for reading: opening the outside one would let it go.
    const fifo = join(outside, "fifo");
    execFileSync("mkfifo", [fifo]);
    const writer = spawn("sh", ["-c", `echo opened > '${fifo}'`], { stdio: "ignore" });
    const exited = new Promise((resolve) => writer.once("exit", resolve));
    try {
      for (const p of ["abs-out/fifo", "rel-out/fifo", "src/up-out/outside/fifo"])
        await expect(files.read(p)).rejects.toThrow(/^SECURITY BLOCK: .*through a symlink/);
      const still = await Promise.race([exited.then(() => false), sleep(200).then(() => true)]);
      expect(still).toBe(true);
    } finally {
      writer.kill("SIGKILL");
      await exited;
    }
  });

  it.skipIf(pinned && !PINNED)("refuses the data directory however it is reached", async () => {
    const { files, data, paths } = setup(pinned);
    for (const p of [".data/batch_jobs.db", "to-data/batch_jobs.db", "through-data/.data/batch_jobs.db"]) {
      await expect(files.read(p)).rejects.toThrow(/^SECURITY BLOCK: .*data directory/);
      expect(() => paths.resolve(p)).toThrow(/data directory/);
    }
    await expect(files.write("to-data/new/x.txt", "x")).rejects.toThrow(/data directory/);
    await expect(files.write(".data/x.txt", "x")).rejects.toThrow(/data directory/);
    await expect(files.list("to-data")).rejects.toThrow(/data directory/);
    // Passing through it is no harm (the target is elsewhere), but nothing is created in it on the way.
    expect((await files.read("through-data/src/a.py")).path).toBe("src/a.py");
    await expect(files.write("data-mkdir/x.txt", "x")).rejects.toThrow(/data directory/);
    expect(readdirSync(data)).toEqual(["batch_jobs.db"]);
  });

  it.skipIf(pinned && !PINNED)(
    "creates missing parents (mkdir -p), also through a symlinked parent",
    async () => {
      const { files, paths, root } = setup(pinned);
      expect(await files.write("rel-in/n1/n2/x.txt", "x")).toEqual({
        path: "src/n1/n2/x.txt",
        bytes: 1,
        created: true,
      });
      expect(readFileSync(join(root, "src", "n1", "n2", "x.txt"), "utf8")).toBe("x");
      expect(readdirSync(join(root, "src", "n1", "n2"))).toEqual(["x.txt"]); // no temp file left
      // A workspace directory (`sub/.`), as Sandbox.workspace asks for it.
      expect(paths.resolveForWrite("ws/a/.")).toBe(join(root, "ws", "a"));
      expect(lstatSync(join(root, "ws", "a")).isDirectory()).toBe(true);
      expect(paths.resolveForWrite("ws2/b.txt")).toBe(join(root, "ws2", "b.txt"));
      expect(existsSync(join(root, "ws2"))).toBe(true);
      expect(() => paths.resolveForWrite("src/..")).toThrow(/cannot write over the project root/);
      await expect(files.write("src/a.py/x.txt", "x")).rejects.toThrow(/is not a directory/);
      await expect(files.write("src", "x")).rejects.toThrow(/'src' is a directory/);
    },
  );

  it.skipIf(pinned && !PINNED)("keeps the mode of the file it replaces", async () => {
    const { files, root } = setup(pinned);
    execFileSync("chmod", ["755", join(root, "src", "a.py")]);
    await files.write("src/a.py", "#!/bin/sh\n");
    expect(lstatSync(join(root, "src", "a.py")).mode & 0o777).toBe(0o755);
  });

  it.skipIf(!PINNED)("closes every descriptor it opens, on success and on refusal", async () => {
    const { files, paths } = setup(pinned);
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      await files.read("abs-in/deep/b.py");
      await files.read("src/up/file-in");
      await files.write(`rel-in/n${i}/x.txt`, "x");
      await files.list("src/up/rel-in");
      paths.resolve("src/up/abs-in/missing/more.txt");
      files.remove(`src/n${i}/x.txt`);
      for (const p of ["src/up-out/x", "loop-a", "to-data/x", "src/a.py/x", "missing/x", "src"])
        await files.read(p).catch(() => undefined);
    }
    expect(openFds()).toBe(before);
  });
});
