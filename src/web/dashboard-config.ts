/**
 * What the server tells the dashboard page when it serves it: whether calls need a key, the status words,
 * and the job kinds it can submit (fields derived from each kind's schemas). Plain data: the page is
 * generated from it, nothing in it is executed.
 */

/** One input of a submit form: a request option or a field of an item. */
export interface FormField {
  name: string;
  input: "string" | "text" | "integer" | "number" | "boolean" | "choice" | "json";
  required: boolean;
  /** The server's default (shown as the placeholder; an empty input sends nothing). */
  default?: unknown;
  choices?: string[];
  description?: string;
}

/** A job kind that has a submit route of its own. */
export interface DashboardKind {
  type: string;
  title: string;
  summary: string;
  path: string;
  itemsField: string;
  item: FormField[];
  options: FormField[];
}

/** How a status word is coloured: waiting, running, a success, a failure, or not run. */
export type Tone = "queued" | "running" | "ok" | "bad" | "off";

export interface DashboardConfig {
  /** Calls need an API key: the page asks for one (and only then shows the key button). */
  authRequired: boolean;
  jobStatuses: readonly string[];
  finalJobStatuses: readonly string[];
  /** Every registered job type (the list's type filter). */
  jobTypes: readonly string[];
  itemStatuses: readonly string[];
  /** The colour of each status word the server uses for jobs and items (others are success words). */
  tones: Readonly<Record<string, Tone>>;
  /** Item statuses that end an item unsuccessfully and can be run again. */
  rerunStatuses: readonly string[];
  kinds: DashboardKind[];
}

/** The config as the text of a `<script type="application/json">` block (no `<` that could end it). */
export function configBlock(config: DashboardConfig): string {
  return JSON.stringify(config)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
