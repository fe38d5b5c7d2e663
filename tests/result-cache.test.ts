import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QueueEvents } from "../src/queue/events.js";
import { Retention } from "../src/queue/retention.js";
import { silentLogger } from "../src/util/logger.js";
import { toolResults } from "./fixtures/fake-ollama.js";
import { fakeOllama } from "./helpers/agent-app.js";
import { BACKEND, postgresAvailable } from "./helpers/backend.js";
import { FakeClock } from "./helpers/fake-clock.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

/**
 * A checker that notes every run (a line in runs.log, outside what any key covers) and fails a file that
 * says FAIL: how often items really ran is what the cache changes.
 */
const CHECKER = `import { appendFileSync, readFileSync } from "node:fs";
const target = process.argv.at(-1);
appendFileSync("runs.log", target + "\\n");
const text = readFileSync(target, "utf8");
console.log("checked " + target);
process.exit(text.includes("FAIL") ? 1 : 0);
`;

interface Server {
  t: TestApp;
  root: string;
  /** Runs of the checker so far, by target. */
  runs(): string[];
  write(path: string, content: string): void;
}

async function server(options: { clock?: FakeClock; config?: Record<string, unknown> } = {}) {
  const dir = tempDir();
  const root = join(dir, "project");
  mkdirSync(join(root, "tools"), { recursive: true });
  writeFileSync(join(root, "tools", "check.mjs"), CHECKER);
  const t = await startTestApp({
    dataDir: dir,
    builtins: true,
    config: { sandbox: "off", ...options.config },
    ...(options.clock ? { pool: { clock: options.clock }, clock: options.clock } : {}),
  });
  const s: Server = {
    t,
    root,
    runs: () => {
      const log = join(root, "runs.log");
      return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    },
    write: (path, content) => {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), content);
    },
  };
  return s;
}

async function validate(s: Server, paths: string[], extra: Record<string, unknown> = {}) {
  const res = await s.t.request("POST", "/batch/validation", {
    targets: paths.map((path, i) => ({ id: `t${i}`, path })),
    check_command: "node tools/check.mjs",
    cache: true,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const job = await waitForJobEnd(s.t, res.body.job_id);
  return { id: res.body.job_id as string, results: job.result.results as any[] };
}

const cacheStats = async (t: TestApp) => (await t.request("GET", "/batch/stats")).body.stats.cache;

describe(`result cache (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "a second identical job is answered from the first; a changed target runs again; stats and metrics count",
    async () => {
      const s = await server();
      s.write("a.py", "x = 1\n");
      s.write("b.py", "y = 2\n");
      const first = await validate(s, ["a.py", "b.py"]);
      expect(first.results.map((r) => [r.status, r.cached])).toEqual([
        ["passed", undefined],
        ["passed", undefined],
      ]);
      expect(s.runs().sort()).toEqual(["a.py", "b.py"]);
      expect(await cacheStats(s.t)).toEqual({ hits: 0, misses: 2, entries: 2 });

      const second = await validate(s, ["a.py", "b.py"]);
      expect(second.results).toEqual([
        expect.objectContaining({ id: "t0", status: "passed", cached: true, cached_from: first.id }),
        expect.objectContaining({ id: "t1", status: "passed", cached: true, cached_from: first.id }),
      ]);
      // The earlier run's output, replayed; nothing ran.
      expect(second.results[0].stdout).toBe(first.results[0].stdout);
      expect(s.runs()).toHaveLength(2);
      expect(await cacheStats(s.t)).toEqual({ hits: 2, misses: 2, entries: 2 });
      const metrics = (await s.t.request("GET", "/metrics")).text;
      expect(metrics).toContain('ollama_coder_cache_hits_total{type="batch_validation"} 2');

      // a.py changes: its item runs again; b.py's is still answered from the first job.
      s.write("a.py", "x = 3\n");
      const third = await validate(s, ["a.py", "b.py"]);
      expect(third.results.map((r) => r.cached ?? false)).toEqual([false, true]);
      expect(third.results[1].cached_from).toBe(first.id);
      expect(s.runs().slice(2)).toEqual(["a.py"]);
      // Another check command is another key.
      const other = await validate(s, ["b.py"], { check_command: "node tools/check.mjs --strict" });
      expect(other.results[0]).toMatchObject({ status: "passed" });
      expect(other.results[0].cached).toBeUndefined();
      // Without cache: true nothing is looked up or kept.
      const plain = await validate(s, ["b.py"], { cache: false });
      expect(plain.results[0].cached).toBeUndefined();
      expect(s.runs()).toHaveLength(5);
      expect(await cacheStats(s.t)).toEqual({ hits: 3, misses: 4, entries: 4 });
    },
  );

  it.runIf(enabled)(
    "a target that changes while its item runs is not kept under the content it had at the start",
    async () => {
      const s = await server();
      // A check that "fixes" the file it checks, then passes: what passed is not what the key named.
      s.write(
        "tools/fix.mjs",
        `import { appendFileSync, writeFileSync } from "node:fs";
const target = process.argv.at(-1);
appendFileSync("runs.log", target + "\\n");
writeFileSync(target, "fixed\\n");
`,
      );
      s.write("c.py", "FAIL\n");
      const fixer = { check_command: "node tools/fix.mjs" };
      const first = await validate(s, ["c.py", "c.py"], fixer);
      expect(first.results.map((r) => r.status)).toEqual(["passed", "passed"]);
      s.write("c.py", "FAIL\n"); // the content the first run started from, again
      const second = await validate(s, ["c.py"], fixer);
      expect(second.results[0].cached).toBeUndefined(); // it ran again
      expect(s.runs()).toEqual(["c.py", "c.py", "c.py"]); // the identical item of the first job ran too
    },
  );

  it.runIf(enabled)("failures are never cached: a failing target runs every time", async () => {
    const s = await server();
    s.write("bad.py", "FAIL\n");
    const first = await validate(s, ["bad.py"]);
    const second = await validate(s, ["bad.py"]);
    for (const job of [first, second]) {
      expect(job.results[0]).toMatchObject({ status: "failed", failure: "check" });
      expect(job.results[0].cached).toBeUndefined();
    }
    expect(s.runs()).toEqual(["bad.py", "bad.py"]);
    expect(await cacheStats(s.t)).toEqual({ hits: 0, misses: 2, entries: 0 });
  });

  it.runIf(enabled)(
    "identical items of one job run once; the others take the first one's result",
    async () => {
      const s = await server();
      s.write("d.py", "z = 1\n");
      s.write("e.py", "z = 2\n");
      const paths = ["d.py", "d.py", "./d.py", "e.py", "d.py"];
      const job = await validate(s, paths, { parallel: 5 });
      expect(job.results.every((r) => r.status === "passed")).toBe(true);
      expect(s.runs().sort()).toEqual(["d.py", "e.py"]);
      const cached = job.results.filter((r) => r.cached === true);
      expect(cached).toHaveLength(3);
      for (const r of cached) expect(r.cached_from).toBe(job.id);
    },
  );

  it.runIf(enabled)(
    "an entry answers within its TTL only, and the retention sweep drops it after",
    async () => {
      const clock = new FakeClock();
      const s = await server({ clock });
      s.write("a.py", "x = 1\n");
      const first = await validate(s, ["a.py"], { cache_ttl_seconds: 60 });
      clock.advance(59_000);
      const within = await validate(s, ["a.py"], { cache_ttl_seconds: 60 });
      expect(within.results[0]).toMatchObject({ cached: true, cached_from: first.id });
      clock.advance(2_000);
      const after = await validate(s, ["a.py"], { cache_ttl_seconds: 60 });
      expect(after.results[0].cached).toBeUndefined();
      expect(s.runs()).toHaveLength(2);
      // The sweep drops what expired by its clock: the first run's entry was replaced by the latest one, which
      // expires a minute later.
      const store = s.t.app.store;
      const sweep = (at: number) =>
        new Retention(store, new QueueEvents(), { retentionDays: 0, log: silentLogger, now: () => at });
      const now = clock.now() / 1000;
      expect((await sweep(now).sweep()).deleted).toBe(0);
      expect(await store.cacheCounts(now)).toMatchObject({ entries: 1 });
      await sweep(now + 61).sweep();
      expect(await store.dropExpiredCachedResults(now + 61, 10)).toBe(0);
      expect(await store.cacheCounts(now - 1_000)).toMatchObject({ entries: 0 });
    },
  );

  it.runIf(enabled)("cache_ttl_seconds out of bounds is a 422", async () => {
    const s = await server();
    for (const ttl of [0, 31 * 86_400, 1.5]) {
      const res = await s.t.request("POST", "/batch/validation", {
        targets: [{ path: "a.py" }],
        cache: true,
        cache_ttl_seconds: ttl,
      });
      expect(res.status, String(ttl)).toBe(422);
      expect(JSON.stringify(res.body.detail)).toContain("cache_ttl_seconds");
    }
  });

  it.runIf(enabled)("purging a job drops the results it left in the cache", async () => {
    const s = await server();
    s.write("a.py", "x = 1\n");
    const first = await validate(s, ["a.py"]);
    expect((await cacheStats(s.t)).entries).toBe(1);
    expect((await s.t.request("DELETE", `/batch/jobs/${first.id}?purge=true`)).status).toBe(200);
    expect((await cacheStats(s.t)).entries).toBe(0);
    const again = await validate(s, ["a.py"]);
    expect(again.results[0].cached).toBeUndefined();
    expect(s.runs()).toHaveLength(2);
  });

  it.runIf(enabled)(
    "MCP: reads are cached by the file's content; a job with writes or commands is refused; lists always run",
    async () => {
      const s = await server();
      s.write("notes.txt", "one\n");
      const refused = await s.t.request("POST", "/batch/mcp-operations", {
        operations: [
          { type: "read", path: "notes.txt" },
          { type: "write", path: "notes.txt", content: "two\n" },
          { type: "command", command: "true" },
        ],
        cache: true,
      });
      expect(refused.status).toBe(422);
      expect(refused.body.detail.map((d: any) => d.loc)).toEqual([
        ["body", "operations", 1, "type"],
        ["body", "operations", 2, "type"],
      ]);
      expect(refused.body.detail[0].msg).toMatch(
        /a 'write' operation changes files .* a cached answer would skip/,
      );
      expect(readFileSync(join(s.root, "notes.txt"), "utf8")).toBe("one\n");

      const reads = async () => {
        const res = await s.t.request("POST", "/batch/mcp-operations", {
          operations: [
            { id: "r", type: "read", path: "notes.txt" },
            { id: "l", type: "list", path: "." },
          ],
          cache: true,
        });
        expect(res.status).toBe(200);
        const job = await waitForJobEnd(s.t, res.body.job_id);
        return {
          id: res.body.job_id as string,
          byId: Object.fromEntries(job.result.results.map((r: any) => [r.id, r])),
        };
      };
      const first = await reads();
      expect(first.byId.r).toMatchObject({ status: "success", result: { content: "one\n" } });
      const second = await reads();
      expect(second.byId.r).toMatchObject({
        cached: true,
        cached_from: first.id,
        result: { content: "one\n" },
      });
      expect(second.byId.l.cached).toBeUndefined();
      // A write (in a job without cache) changes the file: the next read misses and sees it.
      const write = await s.t.request("POST", "/batch/mcp-operations", {
        operations: [{ type: "write", path: "notes.txt", content: "two\n" }],
      });
      await waitForJobEnd(s.t, write.body.job_id);
      const third = await reads();
      expect(third.byId.r.cached).toBeUndefined();
      expect(third.byId.r.result.content).toBe("two\n");
    },
  );
});

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd,
    encoding: "utf8",
  }).trim();

/** A project with calc.py (committed when `withGit`), a server on it, and a submit of one cacheable task. */
async function agentServer(withGit: boolean) {
  const ollama = await fakeOllama();
  ollama.script("qwen2.5-coder:7b", (b) =>
    toolResults(b).length > 0
      ? { content: "Done." }
      : {
          toolCalls: [
            {
              name: "write_file",
              arguments: { path: "mul.py", content: "def mul(a, b):\n    return a * b\n" },
            },
          ],
        },
  );
  const dir = tempDir();
  const root = join(dir, "project");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "calc.py"), "def add(a, b):\n    return a + b\n");
  if (withGit) {
    git(root, "init", "-q", "-b", "main");
    git(root, "add", "-A");
    git(root, "commit", "-qm", "start");
  }
  const t = await startTestApp({
    dataDir: dir,
    builtins: true,
    config: { sandbox: "off", projectRoot: root, dataDir: join(dir, "data"), ollamaUrl: ollama.url },
  });
  const submit = async (cache: boolean) => {
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "mul", description: "Add mul(a, b) in mul.py" }],
      reviewer_model: null,
      check_command: "python3 -c pass",
      max_loops: 2,
      apply: "none",
      cache,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const job = await waitForJobEnd(t, res.body.job_id);
    return { id: res.body.job_id as string, r: job.result.results[0] };
  };
  return { root, submit, chats: () => ollama.requests.length };
}

describe(`result cache for agent tasks (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)("opt-in, keyed by the base commit: a new commit is a miss", async () => {
    const { root, submit, chats } = await agentServer(true);
    const first = await submit(true);
    expect(first.r).toMatchObject({ status: "completed", files_changed: ["mul.py"] });
    const ran = chats();
    expect(ran).toBeGreaterThan(0);
    const second = await submit(true);
    expect(second.r).toMatchObject({
      status: "completed",
      cached: true,
      cached_from: first.id,
      base_commit: first.r.base_commit,
      diff: first.r.diff,
    });
    expect(chats()).toBe(ran); // a replay: no model call
    // Not asked for: the task runs.
    const uncached = await submit(false);
    expect(uncached.r.cached).toBeUndefined();
    expect(chats()).toBeGreaterThan(ran);
    // A new commit: another base, a miss.
    writeFileSync(join(root, "README.md"), "# calc\n");
    git(root, "add", "-A");
    git(root, "commit", "-qm", "readme");
    const before = chats();
    const third = await submit(true);
    expect(third.r.cached).toBeUndefined();
    expect(third.r.base_commit).not.toBe(first.r.base_commit);
    expect(chats()).toBeGreaterThan(before);
  });

  it.runIf(enabled)("isolation copy: keyed by the snapshot's tree, so a changed file is a miss", async () => {
    const { root, submit, chats } = await agentServer(false);
    const first = await submit(true);
    expect(first.r).toMatchObject({ status: "completed", isolation: "copy" });
    const ran = chats();
    // A new snapshot (another commit) of the same files: the same tree, a hit.
    const second = await submit(true);
    expect(second.r).toMatchObject({ cached: true, cached_from: first.id });
    expect(chats()).toBe(ran);
    writeFileSync(join(root, "calc.py"), "def add(a, b):\n    return b + a\n");
    const third = await submit(true);
    expect(third.r.cached).toBeUndefined();
    expect(chats()).toBeGreaterThan(ran);
  });
});
