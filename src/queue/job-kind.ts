import type { TObject, TSchema } from "typebox";
import type { JsonObject } from "../domain/json.js";
import { DEFAULT_SUCCESS_WORD, type SuccessWord } from "../domain/statuses.js";
import type { FieldIssue } from "../errors.js";

/** How a job kind is offered on its own: a REST submit route and a `submit <name>` kind of the CLI. */
export interface SubmitRoute {
  /** e.g. `/batch/agent-tasks`. */
  path: string;
  /** The CLI's name for the kind, e.g. `agent-tasks`. */
  cliName: string;
  summary: string;
  /** OpenAPI title of the request body. */
  title: string;
  /** The request field holding the items, e.g. `tasks`. */
  itemsField: string;
  itemsDescription: string;
  /** Submit-time metadata key holding the item count, e.g. `total_tasks`. */
  totalKey: string;
  /** Defaults of the request's `chunk_size` and `parallel`. */
  chunkSize: number;
  parallel: number;
}

/**
 * What a job type accepts and answers, declared once: the schema of one item (its properties are what an
 * item keeps), of the job's options (with their defaults; its properties are the request fields stored as
 * options), and of the fields an item's result entry adds. Submit routes, their OpenAPI, the CLI's kinds
 * and the validation of `POST /batch/jobs` are all derived from it.
 */
export interface JobKind<Item extends TObject = TObject, Options extends TObject = TObject> {
  type: string;
  item: Item;
  options: Options;
  result: TSchema;
  /** The `status` of a result entry whose item succeeded (default `success`). */
  successWord?: SuccessWord;
  /**
   * The item results carry `usage` (tokens and seconds by model) and the job's `result.summary.usage` totals
   * them over every item (derived from the stored results, so a resumed job counts what ran before too).
   */
  reportsUsage?: boolean;
  /** Item checks a schema cannot say clearly (locations relative to the item); a 422 at submit. */
  checkItem?: (item: JsonObject) => FieldIssue[];
  submit?: SubmitRoute;
}

/** What a kind's result entries say on success (`success` for a type with no declared kind). */
export function successWordOf(kind: JobKind | undefined): SuccessWord {
  return kind?.successWord ?? DEFAULT_SUCCESS_WORD;
}
