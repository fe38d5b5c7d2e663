import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasPython3 } from "./helpers/requirements.js";
import { runToEnd, startServerProcess } from "./helpers/server-process.js";
import { jobEnd } from "./helpers/sleep-jobs.js";
import { tempDir } from "./helpers/temp.js";

const EXAMPLES = join(import.meta.dirname, "..", "examples");
const WORD_COUNT = join(EXAMPLES, "plugins", "word-count.mjs");
const PYTHON_CLIENT = join(EXAMPLES, "python", "submit_and_wait.py");

/** The stock server with examples/plugins/word-count.mjs loaded, as examples/README.md starts it. */
async function wordCountServer() {
  const dir = tempDir();
  const root = join(dir, "project");
  const outside = join(dir, "outside");
  mkdirSync(join(root, "docs"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, "a.txt"), "one two  three\nfour\n");
  writeFileSync(join(root, "docs", "b.md"), "héllo wörld"); // no final newline: 0 lines, as wc -l says
  writeFileSync(join(outside, "secret.txt"), "not yours");
  symlinkSync(join(outside, "secret.txt"), join(root, "link-out.txt"));
  const s = await startServerProcess([
    "serve",
    "--port",
    "0",
    "--data-dir",
    join(dir, "data"),
    "--project-root",
    root,
    "--plugin",
    WORD_COUNT,
  ]);
  return { ...s, dir, root };
}

async function postJob(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/batch/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("examples/plugins/word-count.mjs", () => {
  it("adds word_count to the stock server: counts files beneath the root, refuses the rest", async () => {
    const s = await wordCountServer();

    const bad = await postJob(s.url, { type: "word_count", items: [{ id: "no-path" }] });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      detail: [{ loc: ["body", "items", 0, "path"], type: "missing" }],
    });

    const res = await postJob(s.url, {
      type: "word_count",
      items: [
        { id: "a", path: "a.txt" },
        { id: "b", path: "docs/b.md" },
        { id: "missing", path: "nope.txt" },
        { id: "escape", path: "link-out.txt" },
        { id: "dir", path: "docs" },
      ],
    });
    expect(res.status).toBe(200);
    const { job_id } = (await res.json()) as { job_id: string };
    expect(job_id).toMatch(/^word_count-[0-9a-f]{12}$/);
    expect((await jobEnd(s.url, job_id, 20_000)).status).toBe("failed");

    const job = (await (await fetch(`${s.url}/batch/jobs/${job_id}`)).json()) as any;
    expect(job.error).toBe("3 of 5 items failed");
    expect(job.result.summary).toMatchObject({ total: 5, successful: 2, failed: 3 });
    const byId = new Map<string, any>(job.result.results.map((r: any) => [r.id, r]));
    expect(byId.get("a")).toEqual({
      id: "a",
      path: "a.txt",
      status: "success",
      words: 4,
      lines: 2,
      bytes: 20,
      worker_id: expect.any(String),
    });
    expect(byId.get("b")).toEqual({
      id: "b",
      path: "docs/b.md",
      status: "success",
      words: 2,
      lines: 0,
      bytes: 13,
      worker_id: expect.any(String),
    });
    // Each failure says why; the link's target is outside the root, so it is refused, never read.
    const errors = Object.fromEntries(["missing", "escape", "dir"].map((id) => [id, byId.get(id)]));
    expect(errors).toEqual({
      missing: expect.objectContaining({ status: "failed", error: "no such file or directory: 'nope.txt'" }),
      escape: expect.objectContaining({
        status: "failed",
        error: "SECURITY BLOCK: path 'link-out.txt' leads outside the project root through a symlink",
      }),
      dir: expect.objectContaining({ status: "failed", error: "'docs' is a directory; use list" }),
    });
    for (const entry of Object.values(errors)) expect(entry.words).toBeUndefined();
  });
});

describe.runIf(hasPython3())("examples/python/submit_and_wait.py", () => {
  it("submits, follows the progress, prints the summary and failed items, retries them; exit 0/1", async () => {
    const s = await wordCountServer();

    const good = join(s.dir, "good.json");
    writeFileSync(good, JSON.stringify([{ id: "a", path: "a.txt" }]));
    const ok = await runToEnd("python3", [PYTHON_CLIENT, "--type", "word_count", good, "--server", s.url]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^submitted word_count-[0-9a-f]{12} \(1 items\)$/m);
    expect(ok.stdout).toMatch(/: completed 1\/1 \(1 ok, 0 failed\)$/m);
    expect(ok.stdout).toMatch(/ completed: 1 items, 1 successful, 0 failed, 0 skipped, 0 cancelled in /);

    const mixed = join(s.dir, "mixed.json");
    writeFileSync(
      mixed,
      JSON.stringify({
        items: [
          { id: "a", path: "a.txt" },
          { id: "b", path: "docs/b.md" },
          { id: "gone", path: "gone.txt" },
        ],
      }),
    );
    const failed = await runToEnd("python3", [
      PYTHON_CLIENT,
      "--type",
      "word_count",
      mixed,
      "--retry",
      "--interval",
      "0.1",
      "--server",
      s.url,
    ]);
    expect(failed.stderr).toBe("");
    expect(failed.code).toBe(1); // the retry failed too: gone.txt is still missing
    const lines = failed.stdout.split("\n");
    expect(lines.filter((l) => / failed: 3 items, 2 successful, 1 failed, /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^ {2}failed gone: .+/.test(l))).toHaveLength(2); // the job, then its retry
    const retried = /^retrying 1 failed item\(s\) as (word_count-[0-9a-f]{12})$/m.exec(failed.stdout)?.[1];
    expect(retried).toBeDefined();
    expect(failed.stdout).toContain(`${retried} failed: 1 items, 0 successful, 1 failed, `);

    // On the server: the retry job holds exactly the failed item, resubmitted as the recovery recipe does.
    const job = (await (await fetch(`${s.url}/batch/jobs/${retried}`)).json()) as any;
    expect(job.status).toBe("failed");
    expect(job.result.results).toEqual([
      expect.objectContaining({ id: "gone", path: "gone.txt", status: "failed", error: expect.any(String) }),
    ]);

    const unreachable = await runToEnd("python3", [
      PYTHON_CLIENT,
      "--type",
      "word_count",
      good,
      "--server",
      "http://127.0.0.1:9",
    ]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^error: http:\/\/127\.0\.0\.1:9 unreachable: /);
  });
});
