import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serveArgs, startServerProcess } from "./helpers/server-process.js";
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
