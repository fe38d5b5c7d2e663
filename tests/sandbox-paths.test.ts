import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PathSandbox } from "../src/sandbox/path-sandbox.js";
import { SandboxFiles } from "../src/sandbox/sandbox-files.js";
import { tempDir } from "./helpers/temp.js";

function setup() {
  const base = tempDir();
  const root = join(base, "project");
  const sibling = join(base, "project2"); // shares the root's prefix
  const outside = join(base, "outside");
  const data = join(root, ".data");
  for (const d of [root, sibling, outside, data, join(root, "src")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, "src", "a.py"), "print('a')\n");
  writeFileSync(join(sibling, "secret.txt"), "sibling secret");
  writeFileSync(join(outside, "secret.txt"), "outside secret");
  writeFileSync(join(data, "batch_jobs.db"), "db");
  symlinkSync(outside, join(root, "link-out"));
  symlinkSync(join(outside, "secret.txt"), join(root, "file-link-out"));
  symlinkSync(join(outside, "new.txt"), join(root, "dangling-out"));
  symlinkSync(join(root, "src"), join(root, "link-in"));
  const paths = new PathSandbox(root, [data]);
  return { base, root, sibling, outside, paths, files: new SandboxFiles(paths) };
}

describe("path sandbox: real attacks", () => {
  it.each([
    ["traversal", "../outside/secret.txt", /outside the project root/],
    ["deep traversal", "src/../../outside/secret.txt", /outside the project root/],
    ["sibling sharing the prefix", "../project2/secret.txt", /outside the project root/],
    ["NUL byte", "src/a.py\0.txt", /NUL byte/],
    ["empty", "", /empty path/],
    ["symlinked directory out", "link-out/secret.txt", /symlink/],
    ["symlinked file out", "file-link-out", /symlink/],
    ["dangling symlink out", "dangling-out", /symlink/],
    ["the data dir", ".data/batch_jobs.db", /data directory/],
  ])("refuses %s", async (_name, path, message) => {
    const { files } = setup();
    await expect(files.read(path)).rejects.toThrow(message);
    await expect(files.read(path)).rejects.toThrow(/^SECURITY BLOCK: /);
  });

  it("refuses absolute paths outside the root, including the sibling with the same prefix", async () => {
    const { files, outside, sibling } = setup();
    await expect(files.read(join(outside, "secret.txt"))).rejects.toThrow(/outside the project root/);
    await expect(files.read(join(sibling, "secret.txt"))).rejects.toThrow(/outside the project root/);
    await expect(files.read("/etc/passwd")).rejects.toThrow(/outside the project root/);
  });

  it("accepts absolute paths inside the root and symlinks that stay inside", async () => {
    const { files, root } = setup();
    expect((await files.read(join(root, "src", "a.py"))).content).toBe("print('a')\n");
    expect((await files.read("link-in/a.py")).path).toBe("src/a.py");
  });

  it("reads only regular files: a FIFO inside or linked from outside neither hangs nor is read", async () => {
    const { files, root, outside } = setup();
    execFileSync("mkfifo", [join(root, "pipe"), join(outside, "pipe")]);
    symlinkSync(join(outside, "pipe"), join(root, "pipe-out"));
    await expect(files.read("pipe")).rejects.toThrow(/not a regular file/);
    await expect(files.read("pipe-out")).rejects.toThrow(/SECURITY BLOCK: .*symlink/);
  });

  it("says not found inside the root and outside the root for a missing name; reads large files whole", async () => {
    const { files, root } = setup();
    await expect(files.read("src/missing.py")).rejects.toThrow(
      /no such file or directory: 'src\/missing.py'/,
    );
    await expect(files.read("../nowhere/missing.py")).rejects.toThrow(
      /SECURITY BLOCK: .*outside the project root/,
    );
    const big = `${"x".repeat(300 * 1024)}END`;
    writeFileSync(join(root, "big.txt"), big);
    const r = await files.read("big.txt");
    expect(r.content).toBe(big);
    expect(r.bytes).toBe(big.length);
    writeFileSync(join(root, "utf8.txt"), "héllo ✓\n");
    expect(await files.read("utf8.txt")).toEqual({ path: "utf8.txt", content: "héllo ✓\n", bytes: 11 });
  });

  it("refuses writes through a symlink out (directory, file and dangling) and leaves the outside untouched", async () => {
    const { files, outside } = setup();
    await expect(files.write("link-out/pwned.txt", "x")).rejects.toThrow(/SECURITY BLOCK/);
    await expect(files.write("file-link-out", "x")).rejects.toThrow(/SECURITY BLOCK/);
    await expect(files.write("dangling-out", "x")).rejects.toThrow(/SECURITY BLOCK/);
    await expect(files.write("../outside/pwned.txt", "x")).rejects.toThrow(/SECURITY BLOCK/);
    expect(readdirSync(outside).sort()).toEqual(["secret.txt"]);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("outside secret");
  });

  it("refuses listing ../ and the root's parent", async () => {
    const { files } = setup();
    await expect(files.list("../")).rejects.toThrow(/outside the project root/);
    await expect(files.list("src/../..")).rejects.toThrow(/outside the project root/);
    const listing = await files.list("src/..");
    expect(listing.entries.map((e) => [e.name, e.kind])).toEqual([
      [".data", "directory"],
      ["dangling-out", "symlink"],
      ["file-link-out", "symlink"],
      ["link-in", "symlink"],
      ["link-out", "symlink"],
      ["src", "directory"],
    ]);
  });

  it("writes atomically, creating parent directories, and leaves no temp file", async () => {
    const { files, root } = setup();
    const r = await files.write("out/deep/er/result.txt", "Result 1");
    expect(r).toEqual({ path: "out/deep/er/result.txt", bytes: 8, created: true });
    expect(readFileSync(join(root, "out/deep/er/result.txt"), "utf8")).toBe("Result 1");
    const again = await files.write("out/deep/er/result.txt", "Result 2");
    expect(again.created).toBe(false);
    expect(readdirSync(join(root, "out/deep/er"))).toEqual(["result.txt"]);
  });

  it("a read-only sandbox refuses writes", async () => {
    const { paths } = setup();
    await expect(new SandboxFiles(paths, undefined, true).write("x.txt", "x")).rejects.toThrow(/read-only/);
  });
});
