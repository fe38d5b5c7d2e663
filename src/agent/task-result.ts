import type { TranscriptEntry } from "./transcript.js";

export interface ModelUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  seconds: number;
}

export interface CheckOutcome {
  command: string;
  passed: boolean;
  exit_code: number | null;
  output: string;
  duration_seconds: number;
}

/** What one agent task comes to: the item result's fields, its status and error. */
export interface TaskResult {
  status: "completed" | "failed";
  validator_ok: boolean;
  approved: boolean;
  loops: number;
  files_changed: string[];
  diff: string;
  check: CheckOutcome | null;
  usage: Record<string, ModelUsage>;
  transcript: TranscriptEntry[];
  error: string | null;
  review: string | null;
}
