// A/B of MCP reads between two builds of the server, jobs alternating so that both see the same moments of a
// shared machine: 5,000 reads, parallel 16, chunk 500, seven pairs after a warm-up, medians.
//   node scripts/bench-read-ab.mjs <old checkout>/dist/cli.js <new checkout>/dist/cli.js
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = mkdtempSync("/tmp/readab-");
const root = join(dir, "project");
mkdirSync(join(root, "src"), { recursive: true });
for (let i = 0; i < 500; i++)
  writeFileSync(join(root, "src", `module_${i}.py`), `VALUE = ${i}\n${"# padding\n".repeat(50)}`);
async function start(cli, name) {
  const c = spawn(
    process.execPath,
    [cli, "serve", "--port", "0", "--data-dir", join(dir, name), "--project-root", root, "--sandbox", "off"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  return new Promise((res) => {
    const on = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) res({ c, url: m[1] });
    };
    c.stdout.on("data", on);
    c.stderr.on("data", on);
  });
}
const ops = Array.from({ length: 5000 }, (_, i) => ({ type: "read", path: `src/module_${i % 500}.py` }));
async function job(url) {
  const r = await (
    await fetch(`${url}/batch/mcp-operations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ operations: ops, parallel: 16, chunk_size: 500 }),
    })
  ).json();
  for (;;) {
    const j = await (await fetch(`${url}/batch/jobs/${r.job_id}?include_results=false`)).json();
    if (j.status === "completed") return 5000 / (j.completed_at - j.started_at);
    if (j.status === "failed") throw new Error(j.error);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const [oldCli, newCli] = process.argv.slice(2);
if (!oldCli || !newCli) {
  console.error("usage: node scripts/bench-read-ab.mjs OLD/dist/cli.js NEW/dist/cli.js");
  process.exit(2);
}
const a = await start(oldCli, "a"),
  b = await start(newCli, "b");
await job(a.url);
await job(b.url);
const ra = [],
  rb = [];
for (let i = 0; i < 7; i++) {
  ra.push(await job(a.url));
  rb.push(await job(b.url));
}
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(
  "old",
  Math.round(med(ra)),
  ra.map(Math.round).join(" "),
  "| new",
  Math.round(med(rb)),
  rb.map(Math.round).join(" "),
);
a.c.kill();
b.c.kill();
process.exit(0);
