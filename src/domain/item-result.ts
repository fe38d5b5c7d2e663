import type { JsonObject } from "./json.js";

/**
 * An item's outcome as its processor reports it. `fields` are merged into the item's entry of
 * `result.results` next to the item as submitted; `label` is the entry's `status` (default "success",
 * "failed", "skipped").
 */
export interface ItemResult {
  status: "succeeded" | "failed" | "skipped";
  label?: string;
  error?: string | null;
  fields?: JsonObject;
}

/** The `status` of a result entry when the processor gave no label. */
export const DEFAULT_LABELS = {
  succeeded: "success",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
} as const;
