import { IdempotencyConflictError } from "../errors.js";
import type { IdempotencyRecord, JobRecord, JobStore } from "../store/job-store.js";

/** How long a key stands for its job: a retry within a day gets the same job back. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/**
 * How long the first request may take to store its job (a large one takes seconds). A key held longer by a job
 * that is not there was taken by a request whose process died: the next request with it takes it over.
 */
const FIRST_STORES_WITHIN_S = 60;

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
  /** How a 409 names what holds the key (default: its job; a workflow names itself). */
  holderName: (jobId: string) => Promise<string> = async (id) => `job ${id}`,
): Promise<JobRecord> {
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    const now = nowSeconds();
    const held = await store.claimIdempotencyKey(
      idem.key,
      idem.fingerprint,
      jobId,
      now,
      now - IDEMPOTENCY_TTL_SECONDS,
    );
    // The holder never came to be and its time is up: the key goes to this request, unless another took it first.
    const takeOver = async (h: IdempotencyRecord) =>
      h.fingerprint === idem.fingerprint &&
      now - h.createdAt > FIRST_STORES_WITHIN_S &&
      (await store.getJob(h.jobId)) === null &&
      (await store.takeOverIdempotencyKey(idem.key, h.jobId, idem.fingerprint, jobId, now));
    if (held === null || (await takeOver(held))) {
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
        `Idempotency key '${idem.key}' was used within the last 24 hours for a different request (${await holderName(held.jobId)}); use a new key for a new request`,
      );
    const job = await store.getJob(held.jobId);
    if (job) return job;
    // The first request is still storing its job (or failed, and gives the key back, or died, and its time runs
    // out): ask again shortly.
    await new Promise((r) => setTimeout(r, wait));
  }
}
