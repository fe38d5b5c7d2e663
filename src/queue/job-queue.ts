import { randomBytes } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  DEFAULT_DEPENDENCY_FAILURE_POLICY,
  DEPENDS_ON_FIELD,
  type DependencyFailurePolicy,
  UnknownDependencyError,
} from "../domain/dependencies.js";
import type { JsonObject } from "../domain/json.js";
import { addUsage, type UsageByModel } from "../domain/model-usage.js";
import { cancelledByUser } from "../domain/outcome-rules.js";
import { DEFAULT_PRIORITY } from "../domain/priority.js";
import type { ItemFilter, ItemRecord, JobFilter, JobRecord, NewItem, NewJob } from "../domain/records.js";
import { type RetryPolicy, resolveRetryPolicy, retryPolicyOf } from "../domain/retry-policy.js";
import {
  FINAL_JOB_STATUSES,
  type ItemStatus,
  type ItemStatusWord,
  itemStatusWord,
  type JobStatus,
  type RetryInclude,
  storedItemStatus,
} from "../domain/statuses.js";
import { INPUTS_KEY, WORKFLOW_ID_KEY, WORKFLOW_STEP_KEY, type WorkflowRecord } from "../domain/workflow.js";
import {
  ConflictError,
  type FieldIssue,
  InvalidInputError,
  JobStateError,
  NotFoundError,
} from "../errors.js";
import type { CacheCounts, JobStore } from "../store/job-store.js";
import { type Clock, systemClock, toSeconds } from "./clock.js";
import { announceDependents, followDependencies } from "./dependency-events.js";
import type { QueueEvents } from "./events.js";
import { type Idempotency, idempotentSubmit } from "./idempotency.js";
import { type OutsideDependency, withDependencies } from "./item-dependency-submit.js";
import { type JobKind, successWordOf } from "./job-kind.js";
import type { ProcessorRegistry } from "./processor.js";
import { carriedWebhook } from "./webhook-state.js";

export interface SubmitInput {
  type: string;
  items: JsonObject[];
  options?: JsonObject;
  chunkSize: number;
  parallel: number;
  /** Submit-time metadata (e.g. `total_tasks`). */
  metadata?: JsonObject;
  priority?: number;
  /** Automatic retries of the job's items (the defaults fill in what is left out); kept in metadata.retry. */
  retry?: Partial<RetryPolicy> | undefined;
  /** Name of the items field in the request, for error locations. */
  itemsField?: string;
  /** Not before this time (epoch seconds): the job stays queued, with `metadata.run_at`, until then. */
  runAt?: number | null | undefined;
  /** The same key with the same request gives the first job back (see idempotency.ts). */
  idempotency?: Idempotency | undefined;
  /** Jobs this one waits on (src/domain/dependencies.ts); unknown ids are a 422 at `body.depends_on`. */
  dependsOn?: readonly string[] | undefined;
  /**
   * What a dependency that did not succeed does (default skip): to the job, a failed or cancelled job it waits
   * on (skip: it is cancelled); to its items, an item they depend on, unless an item says (skip: it is skipped).
   */
  onDependencyFailure?: DependencyFailurePolicy | undefined;
  /** How an item outside the job that an item depends on ended (a retry's items); undefined: unknown. */
  outsideDependency?: OutsideDependency | undefined;
}

/** What a retry takes again (see JobQueue.retry); every field optional. */
export interface RetryInput {
  include?: readonly RetryInclude[] | undefined;
  items?: readonly string[] | undefined;
  /**
   * The new job's options, from the old job (the caller applies its overrides and checks them; called once the
   * job is known to have ended). Default: the old job's options.
   */
  options?: ((job: JobRecord) => JsonObject) | undefined;
}

/** The longest a cancel's end waits for the items that were running to stop (see finishWhenSettled). */
const CANCEL_SETTLE_MS = 15_000;

/** Items read at a time when a whole job is paged through (results, exports, retry). */
export const ITEM_PAGE_SIZE = 100;

/** One entry of `result.results`: the item as submitted, its status and its outcome. */
export type ResultEntry = JsonObject;

export function newJobId(type: string): string {
  return `${type}-${randomBytes(6).toString("hex")}`;
}

/**
 * An item's entry in `result.results`: the item as submitted, its status and its outcome. An item cancelled
 * before it started has no outcome of its own: its entry says `cancelled`, with the reason.
 */
export function resultEntry(item: ItemRecord): ResultEntry {
  const outcome = item.result ?? (item.status === "cancelled" ? cancelledByUser().result : {});
  const entry: JsonObject = { ...item.payload, ...outcome };
  if (entry.status === undefined) entry.status = item.status;
  if (item.workerId !== null && item.result !== null) entry.worker_id = item.workerId;
  if (item.attemptsLog.length > 0) entry.attempts_log = item.attemptsLog;
  return entry;
}

/** Items checked between two turns of the event loop while a submission is validated. */
const SUBMIT_YIELD_EVERY = 10_000;

/** Ended jobs whose usage totals are kept in memory (each costs a pass over the job's results). */
const USAGE_CACHE_JOBS = 1000;

/**
 * What the API and the CLI use: submit, look, cancel, and the kinds of jobs there are. It runs nothing
 * itself, and it is the only way in: the store behind it stays private.
 */
export class JobQueue {
  private readonly usageCache = new Map<string, UsageByModel>();

  constructor(
    private readonly store: JobStore,
    private readonly registry: ProcessorRegistry,
    readonly events: QueueEvents,
    private readonly clock: Clock = systemClock,
  ) {
    followDependencies(store, events);
  }

  /** The queue's clock, in the contract's unit (epoch seconds). */
  nowSeconds(): number {
    return toSeconds(this.clock.now());
  }

  /** The declared kinds of jobs (schemas, defaults, submit routes). */
  kinds(): JobKind[] {
    return this.registry.kinds();
  }

  /** Job types a submit may name: those with a processor here or a declared kind (its schemas), sorted. */
  types(): string[] {
    return [...new Set([...this.registry.types(), ...this.registry.kinds().map((k) => k.type)])].sort();
  }

  kind(type: string): JobKind | undefined {
    return this.registry.kind(type);
  }

  /** An item's status in the words answers use: `succeeded` becomes the job type's success word. */
  statusWord(type: string, status: ItemStatus): ItemStatusWord {
    return itemStatusWord(status, successWordOf(this.registry.kind(type)));
  }

  /** Validates, stores the job and its items, and wakes the workers. */
  async submit(input: SubmitInput): Promise<JobRecord> {
    const job = await this.prepare(input);
    if (input.idempotency)
      return idempotentSubmit(
        this.store,
        input.idempotency,
        job.id,
        () => this.nowSeconds(),
        () => this.storeNew(job, input.type),
      );
    return this.storeNew(job, input.type);
  }

  /** Checks a submit as `submit` does (the same 422s) and stores nothing: a schedule's job at its creation. */
  async check(input: SubmitInput): Promise<void> {
    await this.prepare(input);
  }

  /** A submit validated (422s) and made into the job to store (nothing stored). */
  async prepare(input: SubmitInput): Promise<NewJob> {
    const field = input.itemsField ?? "items";
    const options = input.options ?? {};
    const processor = this.registry.get(input.type);
    const issues: FieldIssue[] = [];
    if (processor?.validateOptions) {
      for (const issue of processor.validateOptions(options))
        issues.push({ ...issue, loc: ["body", ...issue.loc] });
    }
    const items: NewItem[] = [];
    const seen = new Map<string, number>();
    for (let index = 0; index < input.items.length; index++) {
      // A large submission lets the event loop turn now and then (other requests, /health).
      if (index % SUBMIT_YIELD_EVERY === SUBMIT_YIELD_EVERY - 1) await yieldToEventLoop();
      const raw = input.items[index]!;
      // Copy an item only when its id must be filled in or normalised (large submits stay one copy).
      const missing = raw.id === undefined || raw.id === null || raw.id === "";
      const itemId = missing ? `op-${index}` : String(raw.id);
      const payload: JsonObject = raw.id === itemId ? raw : { ...raw, id: itemId };
      const first = seen.get(itemId);
      if (first !== undefined) {
        issues.push({
          loc: ["body", field, index, "id"],
          msg: `Duplicate id '${itemId}' (also at index ${first}); ids must be unique within a job`,
          type: "value_error.duplicate_id",
        });
      } else seen.set(itemId, index);
      if (processor?.validateItem) {
        for (const issue of processor.validateItem(payload, index, options))
          issues.push({ ...issue, loc: ["body", field, index, ...issue.loc] });
      }
      items.push({ itemId, payload });
    }
    if (issues.length === 0) issues.push(...withDependencies(items, seen, input, field));
    if (issues.length === 0 && processor?.checkSubmit)
      for (const issue of await processor.checkSubmit(options))
        issues.push({ ...issue, loc: ["body", ...issue.loc] });
    if (issues.length > 0) throw new InvalidInputError(issues.slice(0, 100));
    const retry = resolveRetryPolicy(input.retry);
    const metadata: JsonObject = { ...input.metadata };
    if (input.runAt) metadata.run_at = input.runAt;
    if (input.retry) metadata.retry = retry;
    return {
      id: newJobId(input.type),
      type: input.type,
      options,
      metadata,
      chunkSize: input.chunkSize,
      parallel: input.parallel,
      priority: input.priority ?? DEFAULT_PRIORITY,
      maxAttempts: retry.max_attempts,
      createdAt: toSeconds(this.clock.now()),
      runAt: input.runAt ?? null,
      ...(input.dependsOn?.length ? { dependsOn: [...new Set(input.dependsOn)] } : {}),
      ...(input.onDependencyFailure ? { onDependencyFailure: input.onDependencyFailure } : {}),
      items,
    };
  }

  /** Stores a new job and says so; the record as stored, before any worker touched it. */
  private async storeNew(job: NewJob, type: string): Promise<JobRecord> {
    const items = job.items;
    try {
      await this.store.createJob(job);
    } catch (e: unknown) {
      if (!(e instanceof UnknownDependencyError)) throw e;
      const unknown = new Set(e.ids);
      throw new InvalidInputError(
        (job.dependsOn ?? []).flatMap((id, index) =>
          unknown.has(id)
            ? [
                {
                  loc: ["body", "depends_on", index],
                  msg: `Unknown job '${id}' (never submitted, or purged)`,
                  type: "value_error.unknown_job",
                },
              ]
            : [],
        ),
      );
    }
    this.events.emit("job:submitted", { jobId: job.id, type, ...(job.runAt ? { runAt: job.runAt } : {}) });
    if (job.dependsOn?.length) {
      // Waiting, cancelled at once by a dependency that failed, or free to run: as stored.
      const stored = await this.store.getJob(job.id);
      if (stored?.status === "cancelled") {
        this.events.emit("job:cancelled", { jobId: job.id });
        this.events.emit("job:finished", { jobId: job.id, status: "cancelled" });
      } else if (stored?.waitingFor.length)
        this.events.emit("job:waiting", { jobId: job.id, waitingFor: stored.waitingFor });
      if (stored) return stored;
    }
    // The job as stored, before any worker touched it (a worker elsewhere may already be starting it).
    return {
      ...job,
      dependsOn: [],
      waitingFor: [],
      onDependencyFailure: job.onDependencyFailure ?? DEFAULT_DEPENDENCY_FAILURE_POLICY,
      status: "queued",
      error: null,
      total: items.length,
      succeeded: 0,
      failed: 0,
      skipped: 0,
      cancelled: 0,
      currentItem: null,
      retrying: 0,
      startedAt: null,
      completedAt: null,
      updatedAt: job.createdAt,
    };
  }

  /**
   * Stores a workflow and the jobs of its steps (already prepared, in an order where each comes after those
   * it depends on; their metadata names the workflow), the workflow first. With `idempotency`, the key stands
   * for the first step's job: a repeat of the request gets the workflow back.
   */
  async submitWorkflow(
    workflow: WorkflowRecord,
    jobs: readonly NewJob[],
    idempotency?: Idempotency | undefined,
  ): Promise<WorkflowRecord> {
    const first = jobs[0];
    if (!first)
      throw new InvalidInputError([
        { loc: ["body", "steps"], msg: "A workflow needs a step", type: "value_error" },
      ]);
    const create = async () => {
      await this.store.createWorkflow(workflow);
      const stored: string[] = [];
      try {
        for (const job of jobs) {
          await this.storeNew(job, job.type);
          stored.push(job.id);
        }
      } catch (e: unknown) {
        // A step could not be stored (the database went away midway): the steps stored before it are cancelled,
        // so that no half of a workflow runs on its own (best effort: the database may still be away).
        for (const id of stored) await this.cancel(id).catch(() => undefined);
        throw e;
      }
      return this.get(first.id);
    };
    if (!idempotency) {
      await create();
      return workflow;
    }
    const workflowOf = async (jobId: string) => {
      const id = (await this.store.getJob(jobId))?.metadata[WORKFLOW_ID_KEY];
      return typeof id === "string" ? `workflow ${id}` : `job ${jobId}`;
    };
    const job = await idempotentSubmit(
      this.store,
      idempotency,
      first.id,
      () => this.nowSeconds(),
      create,
      workflowOf,
    );
    const id = job.metadata[WORKFLOW_ID_KEY];
    const stored = typeof id === "string" ? await this.store.getWorkflow(id) : null;
    if (!stored) throw new NotFoundError("Workflow not found");
    return stored;
  }

  /** The workflow, or null when there is none. */
  findWorkflow(id: string): Promise<WorkflowRecord | null> {
    return this.store.getWorkflow(id);
  }

  async getWorkflow(id: string): Promise<WorkflowRecord> {
    const workflow = await this.store.getWorkflow(id);
    if (!workflow) throw new NotFoundError("Workflow not found");
    return workflow;
  }

  listWorkflows(page: {
    limit: number;
    offset: number;
  }): Promise<{ workflows: WorkflowRecord[]; total: number }> {
    return this.store.listWorkflows(page);
  }

  /** Ended jobs whose webhook is due now and free to deliver (see JobStore.dueWebhooks). */
  dueWebhooks(limit: number): Promise<string[]> {
    return this.store.dueWebhooks(this.nowSeconds(), limit);
  }

  /** Takes a due webhook's delivery for `leaseSeconds`; false when another process has it or it is not due. */
  claimWebhook(id: string, owner: string, leaseSeconds: number): Promise<boolean> {
    const now = this.nowSeconds();
    return this.store.claimWebhook(id, owner, now, now + leaseSeconds);
  }

  /** Writes a job's webhook state (`metadata.webhook`, the whole object). */
  recordWebhook(id: string, state: JsonObject): Promise<void> {
    return this.store.mergeJobMetadata(id, { webhook: state });
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.store.getJob(id);
    if (!job) throw new NotFoundError("Job not found");
    return job;
  }

  /** The job, or null when there is none. */
  find(id: string): Promise<JobRecord | null> {
    return this.store.getJob(id);
  }

  /** A page of a job's items; `total` is -1 when `countTotal` is false. */
  listItems(jobId: string, filter: ItemFilter): Promise<{ items: ItemRecord[]; total: number }> {
    return this.store.listItems(jobId, filter);
  }

  /** Items waiting to run, all jobs together. */
  queueDepth(): Promise<number> {
    return this.store.queueDepth();
  }

  list(filter: JobFilter): Promise<{ jobs: JobRecord[]; total: number }> {
    return this.store.listJobs(filter);
  }

  /**
   * A job's items matching `filter`, in item order, a page at a time (never the whole job in memory). Pages
   * follow on from the last position (not an offset, so the last page costs what the first does), and each
   * waits for the event loop to turn first: paging through 200,000 items never holds up another request.
   */
  async *itemPages(
    jobId: string,
    filter: Omit<ItemFilter, "limit" | "offset" | "afterSeq" | "countTotal" | "failedFirst">,
    pageSize = ITEM_PAGE_SIZE,
  ): AsyncGenerator<ItemRecord[]> {
    let afterSeq = -1;
    for (;;) {
      await yieldToEventLoop();
      const { items } = await this.store.listItems(jobId, {
        ...filter,
        afterSeq,
        countTotal: false,
        limit: pageSize,
        offset: 0,
      });
      if (items.length > 0) yield items;
      if (items.length < pageSize) return;
      afterSeq = items[items.length - 1]?.seq ?? afterSeq;
    }
  }

  /**
   * Every result entry of a job (items that ended: ran to an outcome, or cancelled before they started), in
   * item order, a page at a time.
   */
  async *resultPages(jobId: string, pageSize = ITEM_PAGE_SIZE): AsyncGenerator<ResultEntry[]> {
    for await (const items of this.itemPages(jobId, { ended: true }, pageSize)) yield items.map(resultEntry);
  }

  /**
   * The job's model usage summed over every item result (null unless the job has ended and its kind reports
   * usage). Read from the stored results, so it is the same on every store and after a resume.
   */
  async usageTotals(job: JobRecord): Promise<UsageByModel | null> {
    if (!FINAL_JOB_STATUSES.includes(job.status) || !this.registry.kind(job.type)?.reportsUsage) return null;
    const known = this.usageCache.get(job.id);
    if (known) return known;
    const totals: UsageByModel = {};
    for await (const items of this.itemPages(job.id, { ended: true }))
      for (const item of items) addUsage(totals, item.result?.usage);
    // A completed or failed job's results no longer change (a cancelled one's may: an item that was running
    // when the job was cancelled still writes its outcome), so its totals are read once.
    if (job.status !== "cancelled") {
      this.usageCache.set(job.id, totals);
      for (const id of this.usageCache.keys()) {
        if (this.usageCache.size <= USAGE_CACHE_JOBS) break;
        this.usageCache.delete(id);
      }
    }
    return totals;
  }

  async allResults(jobId: string): Promise<ResultEntry[]> {
    const out: ResultEntry[] = [];
    for await (const page of this.resultPages(jobId)) out.push(...page);
    return out;
  }

  /**
   * Changes the priority of a queued or running job (a 409 for an ended one); the workers react at once (a
   * raised priority may take a slot from a lower job, a lowered one may give its slot up).
   */
  async setPriority(id: string, priority: number): Promise<JobRecord> {
    if (!(await this.store.setJobPriority(id, priority, this.nowSeconds()))) {
      const job = await this.get(id);
      throw new JobStateError(
        `Job priority cannot be changed once the job has ended (status: ${job.status})`,
      );
    }
    this.events.emit("job:priority", { jobId: id, priority });
    return this.get(id);
  }

  /**
   * Cancels a queued or running job; running items are aborted by the workers that hold them. The jobs waiting
   * on it are cancelled too (`cascade`, the default), down the chain; without, each follows its
   * on_dependency_failure.
   */
  async cancel(id: string, cascade = true): Promise<void> {
    const outcome = await this.store.cancelJob(id, toSeconds(this.clock.now()), cascade);
    if (outcome === "not_found") throw new NotFoundError("Job not found");
    if (outcome === "finished") {
      const job = await this.store.getJob(id);
      throw new ConflictError(`Job cannot be cancelled (status: ${job?.status ?? "unknown"})`);
    }
    this.events.emit("job:cancelled", { jobId: id });
    void this.finishWhenSettled(id);
    await announceDependents(this.store, this.events, id);
  }

  /**
   * Says a cancelled job has finished once the items that were running when it was cancelled have stopped and
   * written their outcome (on this node or another: the store is asked), so that what follows the event (the
   * final stream message, the CLI's summary, the log, a webhook) counts them. An item that does not stop within
   * CANCEL_SETTLE_MS (a lost worker: the lease sweep settles it later) does not hold the event longer.
   */
  private async finishWhenSettled(id: string): Promise<void> {
    const until = Date.now() + CANCEL_SETTLE_MS; // real time: a test's fake clock may stand still
    for (let wait = 20; Date.now() < until; wait = Math.min(wait * 2, 250)) {
      const running = await this.store
        .listItems(id, { status: "running", limit: 1, offset: 0, countTotal: false })
        .then((r) => r.items.length)
        .catch(() => 0);
      if (running === 0) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    this.events.emit("job:finished", { jobId: id, status: "cancelled" });
  }

  /**
   * Submits items of an ended job again as a new job with the same type and options (the guide's recovery
   * recipe, built in); the two jobs link to each other in their metadata. By default the failed items, and
   * of a cancelled job also those it cancelled (never started, or stopped); `include` chooses other ended
   * statuses, `items` only the named items, `options` replaces the job's options (checked by the caller against
   * the type's schema, and by its processor here as at any submit).
   */
  async retry(id: string, input: RetryInput = {}): Promise<JobRecord> {
    const job = await this.get(id);
    if (job.status === "queued" || job.status === "running") {
      throw new JobStateError(
        `Job cannot be retried while it is ${job.status}; cancel it or wait for it to end`,
      );
    }
    const options = input.options ? input.options(job) : job.options;
    const include: readonly RetryInclude[] =
      input.include ?? (job.status === "cancelled" ? ["failed", "cancelled"] : ["failed"]);
    const statuses = [...new Set(include.map(storedItemStatus))];
    const items: JsonObject[] = [];
    if (input.items === undefined) {
      for await (const page of this.itemPages(id, { status: statuses }))
        items.push(...page.map((i) => i.payload));
    } else items.push(...(await this.namedItems(id, input.items, statuses, include)));
    if (items.length === 0) throw new JobStateError(`Job has no ${include.join(" or ")} items to retry`);
    const metadata: JsonObject = {};
    for (const [k, v] of Object.entries(job.metadata)) {
      if (k === "progress" || k === "retried_by" || k === "retry_of") continue;
      // A retry of a workflow's step is a job of its own: the workflow keeps the step's job it was made with.
      if (k === WORKFLOW_ID_KEY || k === WORKFLOW_STEP_KEY || k === INPUTS_KEY) continue;
      if (k === "webhook") {
        const webhook = carriedWebhook(v); // the new job's own delivery, to the same URL
        if (webhook) metadata[k] = webhook;
        continue;
      }
      metadata[k] = k.startsWith("total_") ? items.length : v;
    }
    metadata.retry_of = id;
    const retried = await this.submit({
      type: job.type,
      items,
      options,
      chunkSize: job.chunkSize,
      parallel: job.parallel,
      priority: job.priority,
      retry: job.metadata.retry ? retryPolicyOf(job.metadata, job.maxAttempts) : undefined,
      metadata,
      outsideDependency: await this.endedDependencies(id, items),
      // The items' policy again (the retry has no job dependencies: its source's were met).
      onDependencyFailure: job.onDependencyFailure,
    });
    const previous = Array.isArray(job.metadata.retried_by) ? (job.metadata.retried_by as string[]) : [];
    await this.store.mergeJobMetadata(id, { retried_by: [...previous, retried.id] });
    return retried;
  }

  /**
   * How the items of job `id` that `items` depend on but that are not among them ended: a retry's item whose
   * dependency succeeded in the old job does not wait for it; one whose dependency did not is skipped (or runs,
   * by its policy) the way it would have been.
   */
  private async endedDependencies(id: string, items: readonly JsonObject[]): Promise<OutsideDependency> {
    const taken = new Set(items.map((i) => String(i.id)));
    const named = new Set<string>();
    for (const i of items) {
      const deps = i[DEPENDS_ON_FIELD];
      if (Array.isArray(deps)) for (const d of deps) if (typeof d === "string" && !taken.has(d)) named.add(d);
    }
    const ended = new Map<string, ItemStatus>();
    if (named.size > 0)
      for await (const page of this.itemPages(id, { itemIds: [...named] }))
        for (const item of page) ended.set(item.itemId, item.status);
    return (dep) => {
      const status = ended.get(dep);
      if (status === undefined) return undefined;
      return status === "succeeded" || status === "failed" || status === "skipped" ? status : "cancelled";
    };
  }

  /** The named items of a job, in item order: a 422 for an id the job does not have, a 409 for one not included. */
  private async namedItems(
    id: string,
    names: readonly string[],
    statuses: readonly ItemStatus[],
    include: readonly RetryInclude[],
  ): Promise<JsonObject[]> {
    const found = new Map<string, ItemRecord>();
    for await (const page of this.itemPages(id, { itemIds: [...new Set(names)] }))
      for (const item of page) found.set(item.itemId, item);
    const unknown: FieldIssue[] = [];
    names.forEach((name, index) => {
      if (!found.has(name))
        unknown.push({
          loc: ["body", "items", index],
          msg: `Job ${id} has no item '${name}'`,
          type: "value_error.unknown_item",
        });
    });
    if (unknown.length > 0) throw new InvalidInputError(unknown.slice(0, 100));
    const type = (await this.get(id)).type;
    const excluded = [...found.values()].filter((i) => !statuses.includes(i.status));
    if (excluded.length > 0) {
      const word = (i: ItemRecord) => this.statusWord(type, i.status);
      const listed = excluded.slice(0, 10).map((i) => `'${i.itemId}' (${word(i)})`);
      throw new JobStateError(
        `Not retried: ${listed.join(", ")}${excluded.length > 10 ? ", …" : ""} — "include" is ${include.join(", ")}; add an item's status to "include" to run it again`,
      );
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq).map((i) => i.payload);
  }

  /** How the result cache has done, on every process of the store: hits, misses, entries not expired. */
  cacheStats(): Promise<CacheCounts> {
    return this.store.cacheCounts(this.nowSeconds());
  }

  async stats(): Promise<Record<JobStatus, number> & { total: number }> {
    const counts = await this.store.countJobsByStatus();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return { total, ...counts };
  }
}
