import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DelayRelay, startDelayRelay } from "./helpers/delay-relay.js";
import { createNetLab, type NetLab, netemAvailable, netnsUnavailable } from "./helpers/netns.js";
import { hasPostgresServer, startPrivatePostgres } from "./helpers/private-postgres.js";
import { requirePart } from "./helpers/requirements.js";
import { CLI, startServerProcess, TEST_PLUGIN } from "./helpers/server-process.js";
import { jobEnd, startsByItem, submitSleepJob } from "./helpers/sleep-jobs.js";
import { subDir, tempDir } from "./helpers/temp.js";

/**
 * A worker node on a network of its own: its process in a network namespace, 2 ms each way from a PostgreSQL
 * of the test's own, reached at the host end of the node's veth pair. The delay is tc netem's on both ends of
 * the pair, or where the kernel has no netem a relay on the host end that holds each chunk 2 ms each way. The
 * API node and the second worker reach the same database on 127.0.0.1.
 */
describe("a worker node across a real network", () => {
  const why = netnsUnavailable();
  const enabled = requirePart("network namespaces", why === null, why ?? "") && hasPostgresServer();
  let lab: NetLab | null = null;
  let relay: DelayRelay | null = null;
  afterAll(async () => {
    await relay?.close();
    lab?.teardown();
  });

  it.runIf(enabled)(
    "cut off mid-job and back after its leases lapsed: its late results are refused, no item has two results, the job completes",
    { timeout: 240_000 },
    async () => {
      const netem = netemAvailable();
      lab = createNetLab(1, netem ? 2 : 0);
      const node = lab.nodes[0]!;
      const db = await startPrivatePostgres({ listen: netem ? [node.hostAddr] : [] });
      if (!netem) relay = await startDelayRelay({ host: node.hostAddr, targetPort: db.port, delayMs: 2 });
      const nodeDb = relay
        ? `postgres://postgres@${node.hostAddr}:${relay.port}/postgres`
        : db.urlAt(node.hostAddr);
      const dir = tempDir();
      const log = join(dir, "runs.log");
      writeFileSync(log, "");
      const args = (databaseUrl: string) => [
        "--database-url",
        databaseUrl,
        "--project-root",
        subDir(dir, "p"),
        "--data-dir",
        join(dir, "d"),
        "--plugin",
        TEST_PLUGIN,
      ];
      const api = await startServerProcess(["serve", "--port", "0", "--workers", "0", ...args(db.url)]);
      const cutOff = await startServerProcess(
        ["worker", "--workers", "1", ...args(nodeDb)],
        {},
        CLI,
        false,
        (program, argv) => lab!.command(node, program, argv),
      );
      const cutPid = String(cutOff.child.pid);

      const jobId = await submitSleepJob(api.url, log, 6, { sleepMs: 3000, parallel: 3, chunkSize: 3 });
      await expect.poll(() => startsByItem(log).size, { timeout: 30_000, interval: 50 }).toBe(3);
      const cutItems = [...startsByItem(log).keys()];
      expect([...startsByItem(log).values()].flat()).toEqual([cutPid, cutPid, cutPid]);

      // Its link goes down; its process lives on, finishes the three items and cannot say so.
      lab.setLink(node, false);
      const other = await startServerProcess(["worker", "--workers", "1", ...args(db.url)]);
      const otherPid = String(other.child.pid);
      // The other node takes the three items once their leases (30 s) lapsed: a new attempt each.
      await expect
        .poll(() => cutItems.filter((id) => startsByItem(log).get(id)?.includes(otherPid)).length, {
          timeout: 90_000,
          interval: 200,
        })
        .toBe(3);
      expect(cutOff.child.exitCode).toBeNull();
      lab.setLink(node, true);

      const ended = await jobEnd(api.url, jobId, 90_000);
      expect(ended.status).toBe("completed");
      // The cut-off node is back: once its late write is answered (refused), it runs the next job's item.
      other.child.kill("SIGKILL");
      await other.exited;
      const next = await submitSleepJob(api.url, join(dir, "next.log"), 1, {
        sleepMs: 1,
        parallel: 1,
        chunkSize: 1,
      });
      expect((await jobEnd(api.url, next, 120_000)).status).toBe("completed");
      const nextJob = (await (await fetch(`${api.url}/batch/jobs/${next}`)).json()) as any;
      expect(nextJob.result.results[0].worker_id).toMatch(new RegExp(`:${cutPid}$`));

      const job = (await (await fetch(`${api.url}/batch/jobs/${jobId}`)).json()) as any;
      expect(job.result.summary).toMatchObject({ total: 6, successful: 6, failed: 0 });
      const results = job.result.results as { id: string; worker_id: string; pid: number }[];
      expect(results.map((r) => r.id).sort()).toEqual(["i0", "i1", "i2", "i3", "i4", "i5"]);
      // The items it was cut off with: it ran each to its end, and the results are the other node's.
      for (const id of cutItems) {
        const r = results.find((x) => x.id === id)!;
        expect(r.worker_id, id).toMatch(new RegExp(`:${otherPid}$`));
        expect(r.pid, id).toBe(Number(otherPid));
      }
      const done = readFileSync(log, "utf8");
      for (const id of cutItems) expect(done).toContain(`done ${id} ${cutPid}`);
    },
  );
});
