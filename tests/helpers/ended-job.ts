import type { JobStore, JsonObject } from "../../src/store/job-store.js";

/** A job with `n` items, all run to an outcome, written through the store (no workers): fast even for 200k. */
export async function endedJob(store: JobStore, id: string, n: number, result: (i: number) => JsonObject) {
  await store.createJob({
    id,
    type: "noop",
    options: {},
    metadata: { total_items: n },
    chunkSize: 10_000,
    parallel: 256,
    priority: 0,
    maxAttempts: 3,
    createdAt: 1000,
    items: Array.from({ length: n }, (_, i) => ({
      itemId: `item-${i}`,
      payload: { id: `item-${i}`, description: `task number ${i}` },
    })),
  });
  await store.startJob(id, 1001);
  for (;;) {
    const claimed = await store.claimItems(id, "test:1", 10_000, 9e9, 1002);
    if (claimed.length === 0) break;
    await store.recordOutcomes(
      id,
      "test:1",
      claimed.map((c) => {
        const r = result(c.seq);
        return {
          key: c.key,
          seq: c.seq,
          attempt: c.attempt,
          status: r.status === "failed" ? "failed" : "succeeded",
          result: r,
          error: r.status === "failed" ? "boom" : null,
          finishedAt: 1003,
        };
      }),
      null,
    );
  }
  await store.finalizeJob(id, 1004);
}
