import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { requirePart } from "./helpers/requirements.js";
import { CLI, runCli, serveArgs, startServerProcess } from "./helpers/server-process.js";
import { tempDir } from "./helpers/temp.js";

async function server() {
  const dir = tempDir();
  const s = await startServerProcess(serveArgs(dir, "--sandbox", "off"));
  return { ...s, dir, root: join(dir, "project") };
}

/** A validation job over good.txt and bad.txt whose check prints 30 lines and fails on "bad". */
async function validationJob(s: Awaited<ReturnType<typeof server>>): Promise<string> {
  writeFileSync(join(s.root, "good.txt"), "fine");
  writeFileSync(join(s.root, "bad.txt"), "bad");
  writeFileSync(
    join(s.root, "check.sh"),
    'for i in $(seq 1 30); do echo "out line $i"; done\necho "why: <it & broke>" >&2\ngrep -q bad "$1" && exit 1\nexit 0\n',
  );
  const body = join(s.dir, "body.json");
  writeFileSync(
    body,
    JSON.stringify({
      targets: [
        { id: "good", path: "good.txt" },
        { id: "bad", path: "bad.txt" },
      ],
      check_command: "sh check.sh",
    }),
  );
  const submitted = await runCli(["submit", "validation", body, "--wait", "--json", "--server", s.url]);
  expect(submitted.code).toBe(1);
  return JSON.parse(submitted.stdout).job_id as string;
}

describe("a CLI that tells the whole story", () => {
  it("job --results: a failure's reason and the tail of its output; job exits by the job's status", async () => {
    const s = await server();
    const jobId = await validationJob(s);
    const job = await runCli(["job", jobId, "--results", "--server", s.url]);
    expect(job.code).toBe(1); // like submit --wait: the job failed
    expect(job.stdout).toMatch(/ {2}good: (passed|succeeded|completed)/);
    expect(job.stdout).toMatch(/ {2}bad: failed — /);
    expect(job.stdout).toMatch(/── stdout \(last 20 of 30 lines\) ──/);
    expect(job.stdout).toContain("│ out line 30");
    expect(job.stdout).toContain("│ out line 11");
    expect(job.stdout).not.toContain("│ out line 10\n");
    expect(job.stdout).toMatch(/── stderr ──\n {4}│ why: <it & broke>/);
  });

  it("items (--status, --limit, --offset, --json) and jobs --offset / --type by submit name", async () => {
    const s = await server();
    const jobId = await validationJob(s);
    const failed = await runCli(["items", jobId, "--status", "failed", "--server", s.url]);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(/bad: failed — [^\n]*\n {4}── stdout/);
    expect(failed.stdout).not.toMatch(/good:/);
    expect(failed.stdout).toContain("1–1 of 1 item(s)");
    const second = await runCli([
      "items",
      jobId,
      "--limit",
      "1",
      "--offset",
      "1",
      "--json",
      "--server",
      s.url,
    ]);
    const page = JSON.parse(second.stdout);
    expect(page.total).toBe(2);
    expect(page.items.map((i: { id: string }) => i.id)).toEqual(["bad"]);

    const other = await runCli(
      ["submit", "tests", "-", "--server", s.url],
      {},
      JSON.stringify({ modules: [{ path: "good.txt" }], test_command: "true" }),
    );
    expect(other.code).toBe(0);
    for (const type of ["validation", "batch_validation"]) {
      const jobs = await runCli(["jobs", "--type", type, "--server", s.url]);
      expect(jobs.stdout).toContain(jobId);
      expect(jobs.stdout).toContain("1–1 of 1 job(s)");
    }
    const byApi = (await (await fetch(`${s.url}/batch/jobs?job_type=tests`)).json()) as { total: number };
    expect(byApi.total).toBe(1);
    const newest = await runCli(["jobs", "--limit", "1", "--server", s.url]);
    expect(newest.stdout).toContain("1–1 of 2 job(s)");
    const older = await runCli(["jobs", "--limit", "1", "--offset", "1", "--server", s.url]);
    expect(older.stdout).toContain(jobId);
    expect(older.stdout).toContain("2–2 of 2 job(s)");
  });

  it("export: jsonl as the server streams it, csv, and junit XML that a parser reads", async () => {
    const s = await server();
    const jobId = await validationJob(s);
    const jsonl = await runCli(["export", jobId, "--server", s.url]);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id).sort()).toEqual(["bad", "good"]);

    const csvFile = join(s.dir, "out.csv");
    const csv = await runCli(["export", jobId, "--format", "csv", "-o", csvFile, "--server", s.url]);
    expect(csv.code).toBe(0);
    const rows = readFileSync(csvFile, "utf8").split("\r\n");
    expect(rows[0]).toBe("id,status,failure,error,exit_code,duration_seconds,path,type,command,description");
    expect(rows.find((r) => r.startsWith("bad,failed,"))).toContain(",1,");

    const xmlFile = join(s.dir, "junit.xml");
    const junit = await runCli(["export", jobId, "--format", "junit", "-o", xmlFile, "--server", s.url]);
    expect(junit.code).toBe(0);
    if (
      requirePart("python3", spawnSync("python3", ["--version"]).status === 0, "apt-get install -y python3")
    ) {
      // A real XML parser reads it as CI systems do: one testcase per item, the failure with message and output.
      const parsed = spawnSync("python3", [
        "-c",
        `import json,sys,xml.etree.ElementTree as E
r=E.parse(sys.argv[1]).getroot();s=r.find("testsuite")
print(json.dumps({"root":r.tag,"tests":s.get("tests"),"failures":s.get("failures"),
"cases":[{"name":c.get("name"),"failure":None if c.find("failure") is None else {"message":c.find("failure").get("message"),"text":c.find("failure").text}} for c in s.findall("testcase")]}))`,
        xmlFile,
      ]);
      expect(parsed.stderr.toString()).toBe("");
      const doc = JSON.parse(parsed.stdout.toString());
      expect(doc).toMatchObject({ root: "testsuites", tests: "2", failures: "1" });
      const bad = doc.cases.find((c: { name: string }) => c.name === "bad.txt");
      expect(bad.failure.message).toBeTruthy();
      expect(bad.failure.text).toContain("out line 30");
      expect(bad.failure.text).toContain("why: <it & broke>");
      expect(doc.cases.find((c: { name: string }) => c.name === "good.txt").failure).toBeNull();
    }
    const mcp = await runCli(
      ["submit", "mcp-operations", "-", "--server", s.url],
      {},
      JSON.stringify([{ type: "list", path: "." }]),
    );
    const notJunit = await runCli(["export", mcp.stdout.trim(), "--format", "junit", "--server", s.url]);
    expect(notJunit.code).toBe(3);
    expect(notJunit.stderr).toMatch(/junit is for validation and test jobs/);
  });

  it("usage errors exit 3 with the usage; --help shows defaults and never the API key", async () => {
    const usage = [
      ["jobs", "--bogus"],
      ["job"],
      ["jobs", "--limit", "x"],
      ["nope"],
      ["export", "x", "--format", "xml"],
    ];
    const answers = await Promise.all(usage.map((args) => runCli(args)));
    answers.forEach((r, i) => {
      expect(r.code, usage[i]?.join(" ")).toBe(3);
      expect(r.stderr, usage[i]?.join(" ")).toMatch(/error: [\s\S]*Usage: ollama-coder/);
    });
    const help = await runCli(["serve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--port <port>\s+port \(env OLLAMA_CODER_PORT\) \(default: 8000\)/);
    expect(help.stdout).toMatch(/--workers <n>[\s\S]*?\(default: 5\)/);
    const jobsHelp = await runCli(["jobs", "--help"], { OLLAMA_CODER_API_KEY: "sekret" });
    expect(jobsHelp.stdout).toMatch(/--limit <n>\s+how many \(default: 20\)/);
    const top = await runCli(["--help"], { OLLAMA_CODER_API_KEY: "sekret" });
    expect(top.stdout).not.toContain("sekret");
  });

  it("mcp-config prints a block whose command, run as written from any directory, is a working MCP server", async () => {
    const root = tempDir();
    writeFileSync(join(root, "hello.txt"), "hi");
    // What `mcp` would refuse is refused here, before it is pasted into a client: exit 3 with why.
    const badMode = await runCli(["mcp-config", "--project-root", root, "--sandbox", "bogus"]);
    expect([badMode.code, badMode.stdout, badMode.stderr]).toEqual([
      3,
      "",
      expect.stringMatching(/sandbox must be/),
    ]);
    const noRoot = await runCli(["mcp-config", "--project-root", join(root, "missing")]);
    expect([noRoot.code, noRoot.stderr]).toEqual([3, expect.stringMatching(/does not exist/)]);
    const printed = await runCli(["mcp-config", "--project-root", root, "--sandbox", "off", "--name", "oc"]);
    expect(printed.code).toBe(0);
    const config = JSON.parse(printed.stdout) as {
      mcpServers: Record<string, { command: string; args: string[] }>;
    };
    const entry = config.mcpServers.oc;
    expect(entry?.command).toBe(process.execPath);
    expect(entry?.args.slice(0, 2)).toEqual([CLI, "mcp"]);
    expect(entry?.args).toEqual(expect.arrayContaining(["--project-root", root, "--sandbox", "off"]));
    const client = new Client({ name: "cli-story", version: "1" });
    await client.connect(
      new StdioClientTransport({
        command: entry?.command ?? "",
        args: entry?.args ?? [],
        cwd: tempDir(),
        stderr: "pipe",
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(["read_file", "write_file", "run_command"]),
      );
      const read = await client.callTool({ name: "read_file", arguments: { path: "hello.txt" } });
      expect(JSON.stringify(read.content)).toContain("hi");
    } finally {
      await client.close();
    }
  });
});
