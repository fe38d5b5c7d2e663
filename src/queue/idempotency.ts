import { IdempotencyConflictError } from "../errors.js";
import type { JobRecord, JobStore } from "../store/job-store.js";

/** How long a key stands for its job: a retry within a day gets the same job back. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** How long a duplicate waits for the job the first request is still storing (a large one takes seconds). */
const WAIT_FOR_FIRST_MS = 60_000;

/** A submit's idempotency: the client's key, and a fingerprint of what it asked (route and body). */
export interface Idempotency {
  key: string;
  fingerprint: string;
}

/**
 * Makes job `jobId` with `create`, unless `idem.key` already stands for a job: then the same request gets
 * that job back, and a different one is refused (409). Concurrent requests with one key make one job between
 * them, on one node or several: the store hands the key to one; the others wait until its job is stored.
 */
export async function idempotentSubmit(
  store: JobStore,
  idem: Idempotency,
  jobId: string,
  nowSeconds: () => number,
  create: () => Promise<JobRecord>,
): Promise<JobRecord> {
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    const now = nowSeconds();
    const held = await store.claimIdempotencyKey(
      idem.key,
      idem.fingerprint,
      jobId,
      now,
      now - IDEMPOTENCY_TTL_SECONDS,
    );
    if (held === null) {
      try {
        return await create();
      } catch (e: unknown) {
        // The job was not stored: the key is free again for a retry of the request.
        await store.releaseIdempotencyKey(idem.key, jobId).catch(() => undefined);
        throw e;
      }
    }
    if (held.fingerprint !== idem.fingerprint)
      throw new IdempotencyConflictError(
        `Idempotency key '${idem.key}' was used within the last 24 hours for a different request (job ${held.jobId}); use a new key for a new request`,
      );
    const job = await store.getJob(held.jobId);
    if (job) return job;
    // The first request is still storing its job (or failed, and gives the key back): ask again shortly.
    if (Date.now() > deadline)
      throw new IdempotencyConflictError(
        `Idempotency key '${idem.key}': the request that first used it is still being submitted; try again later`,
      );
    await new Promise((r) => setTimeout(r, wait));
  }
}
