import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

const REPO = join(import.meta.dirname, "..");

/**
 * A machine with neither bubblewrap nor the built-in jail (no C compiler when `npm ci` ran): the server starts
 * the same package without dist/native and with no bwrap on its PATH.
 */
function packageWithoutJails(dir: string): { cli: string; path: string } {
  const pkg = join(dir, "pkg");
  cpSync(join(REPO, "dist"), join(pkg, "dist"), {
    recursive: true,
    filter: (src) => !src.startsWith(join(REPO, "dist", "native")),
  });
  writeFileSync(join(pkg, "package.json"), readFileSync(join(REPO, "package.json")));
  symlinkSync(join(REPO, "node_modules"), join(pkg, "node_modules"));
  const bin = join(dir, "bin"); // a PATH with the usual tools, but no bwrap
  mkdirSync(bin);
  for (const tool of ["sh", "cat", "echo", "ls", "true"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  return { cli: join(pkg, "dist", "cli.js"), path: bin };
}

async function postJson(url: string, body: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function waitEnd(url: string, jobId: string): Promise<any> {
  for (;;) {
    const job = (await (await fetch(`${url}/batch/jobs/${jobId}`)).json()) as any;
    if (["completed", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("no jail to be had", () => {
  it("refuses every command with a message that says how to get a jail; file operations still work", async () => {
    const dir = tempDir();
    const { cli, path } = packageWithoutJails(dir);
    const s = await startServerProcess(serveArgs(dir), { PATH: path }, cli);
    expect(s.output()).toMatch(/commands are REFUSED: no jail is available on this machine/);
    const health = (await (await fetch(`${s.url}/health`)).json()) as any;
    expect(health.sandbox).toMatchObject({ jail: "none", commands: "refused" });
    const sub = await postJson(`${s.url}/batch/mcp-operations`, {
      operations: [
        { id: "w", type: "write", path: "a.txt", content: "hello" },
        { id: "c", type: "command", command: "cat a.txt" },
      ],
    });
    expect(sub.status).toBe(200);
    const job = await waitEnd(s.url, sub.body.job_id);
    const byId = Object.fromEntries(job.result.results.map((r: { id: string }) => [r.id, r]));
    expect(byId.w.status).toBe("success");
    expect(readFileSync(join(dir, "project", "a.txt"), "utf8")).toBe("hello");
    expect(byId.c.status).toBe("failed");
    expect(byId.c.error).toMatch(/^SECURITY BLOCK: commands are refused: no jail is available/);
    expect(byId.c.error).toContain("apt-get install bubblewrap");
    expect(byId.c.error).toContain("--sandbox off");
  });

  it("--sandbox off runs commands unjailed, and the log and /health say so loudly", async () => {
    const dir = tempDir();
    const { cli, path } = packageWithoutJails(dir);
    const s = await startServerProcess(serveArgs(dir, "--sandbox", "off"), { PATH: path }, cli);
    expect(s.output()).toMatch(/WARNING: commands run UNJAILED \(--sandbox off\)/);
    const health = (await (await fetch(`${s.url}/health`)).json()) as any;
    expect(health.sandbox).toMatchObject({ jail: "none", commands: "UNJAILED" });
    expect(health.sandbox.note).toMatch(/^WARNING/);
    const sub = await postJson(`${s.url}/batch/mcp-operations`, {
      operations: [{ id: "c", type: "command", command: "echo hi" }],
    });
    const job = await waitEnd(s.url, sub.body.job_id);
    expect(job.result.results[0]).toMatchObject({ status: "success", result: { stdout: "hi\n" } });
  });
});

describe("descriptors the server inherited", () => {
  it("never reach a jailed command", async () => {
    const dir = tempDir();
    const outside = join(dir, "outside.log");
    writeFileSync(outside, "");
    // A shell started the server with a descriptor open on a file outside the root (`200>>file`).
    const args = serveArgs(dir)
      .map((a) => `'${a}'`)
      .join(" ");
    const child = spawn("bash", ["-c", `exec '${process.execPath}' '${CLI}' ${args} 200>>'${outside}'`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/[^\s]+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("exit", () => reject(new Error(out)));
      });
      const sub = await postJson(`${url}/batch/mcp-operations`, {
        operations: [
          {
            id: "w",
            type: "command",
            command: "python3 -c \"import os; os.write(200, b'WRITTEN-FROM-A-COMMAND')\"",
          },
        ],
      });
      const job = await waitEnd(url, sub.body.job_id);
      expect(job.result.results[0].status).toBe("failed");
      expect(job.result.results[0].result.stderr).toContain("Bad file descriptor"); // it has no fd 200
    } finally {
      child.kill("SIGKILL");
    }
    expect(readFileSync(outside, "utf8")).toBe("");
  });
});
