import type { FailureReason } from "./failure.js";
import type { JsonObject } from "./json.js";

/**
 * An item's outcome as its processor reports it. `fields` are merged into the item's entry of
 * `result.results` next to the item as submitted. The entry's `status` is the job type's success word
 * (src/domain/statuses.ts), `failed` or `skipped`; a failed item says why in `failure` (default `error`).
 */
export interface ItemResult {
  status: "succeeded" | "failed" | "skipped";
  failure?: FailureReason;
  error?: string | null;
  fields?: JsonObject;
}
