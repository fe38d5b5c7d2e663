import { describe, expect, it } from "vitest";
import { FAILURE_REASON_NAMES } from "../src/domain/failure.js";
import { toSeconds } from "../src/queue/clock.js";
import { BACKEND, postgresAvailable } from "./helpers/backend.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

/** What the README's recovery recipe selects: the entries whose status is "failed". */
async function failedInResults(t: TestApp, jobId: string) {
  const job = (await t.request("GET", `/batch/jobs/${jobId}`)).body;
  const jsonl = (await t.request("GET", `/batch/jobs/${jobId}/results.jsonl`)).text;
  const lines = jsonl
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return {
    counted: job.result.summary.failed as number,
    inResults: (job.result.results as any[]).filter((r) => r.status === "failed"),
    inJsonl: lines.filter((r) => r.status === "failed"),
  };
}

describe(`every item counted as failed is in the results and the JSONL export (${BACKEND})`, async () => {
  const enabled = BACKEND === "sqlite" || (await postgresAvailable());

  it.runIf(enabled)(
    "whatever failed it: its processor, a throw, the job's preparation, its lost worker",
    async () => {
      const t = await startTestApp({
        register: (r) =>
          r.register("verdicts", {
            async prepareJob(job) {
              if (job.options.prepare_fails) throw new Error("the model is missing");
            },
            async processItem(item) {
              if (item.do === "throw") throw new Error("boom");
              return item.do === "fail" ? { status: "failed", error: "said no" } : { status: "succeeded" };
            },
          }),
      });
      const submit = async (body: object) => {
        const res = await t.request("POST", "/batch/jobs", { type: "verdicts", ...body });
        expect(res.status).toBe(200);
        return waitForJobEnd(t, res.body.job_id as string);
      };
      // The processor says failed, or throws.
      const ran = await submit({
        items: [
          { id: "a", do: "ok" },
          { id: "b", do: "fail" },
          { id: "c", do: "throw" },
        ],
      });
      // The job fails before its items run.
      const unprepared = await submit({
        items: [{ id: "d" }, { id: "e" }],
        options: { prepare_fails: true },
      });

      // The item's worker died once too often (max_attempts 1): the lease sweep gives up on it.
      const store = t.app.store;
      const now = toSeconds(Date.now());
      const lostId = "verdicts-lostworker01";
      await store.createJob({
        id: lostId,
        type: "verdicts",
        options: {},
        metadata: {},
        chunkSize: 10,
        parallel: 1,
        priority: 0,
        maxAttempts: 1,
        items: [{ itemId: "f", payload: { id: "f" } }],
        createdAt: now,
        // Not the app's pool's to run (it would race this test's claim): only claimed here, by hand.
        runAt: now + 3600,
      });
      await store.startJob(lostId, now);
      expect(await store.claimItems(lostId, "gone-host:1:x", 10, now + 30, now)).toHaveLength(1);
      expect(await store.sweepLeases(now + 31, [])).toMatchObject({ abandoned: 1 });
      // The app's own pool sweeps too, and may end the job between these two calls: either way it failed.
      await store.finalizeJob(lostId, now + 31);
      expect((await store.getJob(lostId))?.status).toBe("failed");

      for (const [jobId, expected] of [
        [ran.job_id, ["b", "c"]],
        [unprepared.job_id, ["d", "e"]],
        [lostId, ["f"]],
      ] as const) {
        const f = await failedInResults(t, jobId);
        expect(f.counted, jobId).toBe(expected.length);
        expect(f.inResults.map((r) => r.id).sort(), `${jobId}: result.results`).toEqual(expected);
        expect(f.inJsonl.map((r) => r.id).sort(), `${jobId}: results.jsonl`).toEqual(expected);
        for (const r of [...f.inResults, ...f.inJsonl]) {
          expect(r.error, `${jobId}/${r.id}`).toBeTruthy();
          expect(FAILURE_REASON_NAMES, `${jobId}/${r.id}: failure`).toContain(r.failure);
        }
      }
    },
  );
});
