import { createHash } from "node:crypto";
import { canonicalJson } from "../domain/canonical-json.js";
import type { JsonObject } from "../domain/json.js";
import { AlreadyExistsError, errorMessage, InvalidInputError, NotFoundError } from "../errors.js";
import type { JobStore, ScheduleRecord } from "../store/job-store.js";
import { isTransientStoreError } from "../store/transient-error.js";
import type { Logger } from "../util/logger.js";
import { type Clock, systemClock, toSeconds } from "./clock.js";
import { cronProblem, lastTickAtOrBefore, nextTick } from "./cron.js";
import type { Idempotency } from "./idempotency.js";

/** How often the loop looks at the store even with nothing due (another node may have changed things). */
const CHECK_EVERY_MS = 30_000;
/** How soon a tick still due after a look is looked at again. */
const RETRY_DUE_MS = 1_000;

export interface NewSchedule {
  name: string;
  cron: string;
  timezone: string;
  /** The submit body each firing sends, already checked by the caller. */
  job: JsonObject;
}

export interface SchedulesOptions {
  /** Submits the job of one firing (the API's submit path); resolves to its id. */
  fire: (schedule: ScheduleRecord, firedAt: number, idempotency: Idempotency) => Promise<string>;
  log: Logger;
  clock?: Clock;
  checkEveryMs?: number;
}

/**
 * Recurring schedules: their records, and the loop that fires them. Each firing is a compare-and-set of the
 * schedule's `next_run_at` in the store (claimScheduleTick), so of several API nodes on one PostgreSQL
 * database exactly one fires a tick. A schedule whose ticks passed while no node ran fires once, at the last
 * of them, and moves on to the first tick after now.
 */
export class Schedules {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly clock: Clock;
  private readonly checkEveryMs: number;

  constructor(
    private readonly store: JobStore,
    private readonly options: SchedulesOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.checkEveryMs = options.checkEveryMs ?? CHECK_EVERY_MS;
  }

  private now(): number {
    return toSeconds(this.clock.now());
  }

  async create(input: NewSchedule): Promise<ScheduleRecord> {
    const problem = cronProblem(input);
    if (problem)
      throw new InvalidInputError([
        { loc: ["body", problem.field], msg: problem.msg, type: `value_error.${problem.field}` },
      ]);
    const now = this.now();
    const record: ScheduleRecord = {
      ...input,
      paused: false,
      nextRunAt: nextTick(input, now),
      lastFiredAt: null,
      lastJobId: null,
      createdAt: now,
    };
    if (!(await this.store.createSchedule(record)))
      throw new AlreadyExistsError(
        `a schedule named '${input.name}' exists: delete it first, or pick another name`,
      );
    this.wake();
    return record;
  }

  async get(name: string): Promise<ScheduleRecord> {
    const found = await this.store.getSchedule(name);
    if (!found) throw notFound(name);
    return found;
  }

  list(): Promise<ScheduleRecord[]> {
    return this.store.listSchedules();
  }

  async delete(name: string): Promise<void> {
    if (!(await this.store.deleteSchedule(name))) throw notFound(name);
  }

  /** Stops firing (the record stays); the ticks while paused are not made up later. */
  async pause(name: string): Promise<ScheduleRecord> {
    const found = await this.get(name);
    const out = await this.store.setSchedulePaused(name, true, found.nextRunAt);
    if (!out) throw notFound(name);
    return out;
  }

  /** Fires again from the first tick after now (none of those missed while paused). */
  async resume(name: string): Promise<ScheduleRecord> {
    const found = await this.get(name);
    const out = await this.store.setSchedulePaused(name, false, nextTick(found, this.now()));
    if (!out) throw notFound(name);
    this.wake();
    return out;
  }

  /** Fires every schedule with a tick due now, once each; resolves to how many this node fired. */
  async fireDue(): Promise<number> {
    const now = this.now();
    let fired = 0;
    for (const s of await this.store.listSchedules()) {
      if (s.paused || s.nextRunAt > now) continue;
      try {
        if (await this.fireOne(s, now)) fired++;
      } catch (e: unknown) {
        this.options.log.warn(`schedule ${s.name}: ${errorMessage(e)}`);
      }
    }
    return fired;
  }

  /**
   * Fires one due tick. The job is submitted first, with an idempotency key of the tick's own, and the tick
   * taken after: a firing the store could not take (a database restart, a dropped connection, a full disk) is
   * tried again a second later rather than lost, and nodes that fire one tick at once (or a node that died
   * between the two steps and the one that takes over) make one job between them.
   */
  private async fireOne(s: ScheduleRecord, now: number): Promise<boolean> {
    const firedAt = Math.max(s.nextRunAt, lastTickAtOrBefore(s, now));
    const takeTick = () => this.store.claimScheduleTick(s.name, s.nextRunAt, firedAt, nextTick(s, now));
    let jobId: string;
    try {
      jobId = await this.options.fire(s, firedAt, tickIdempotency(s, firedAt));
    } catch (e: unknown) {
      if (isTransientStoreError(e)) throw e; // the tick stays due: looked at again shortly
      // A job body that no longer fits would fail every second: the tick is taken, and said so.
      if (!(await takeTick())) return false;
      this.options.log.warn(
        `schedule ${s.name}: the firing of ${new Date(firedAt * 1000).toISOString()} made no job: ${errorMessage(e)}`,
      );
      return true;
    }
    // Another node took the tick first: the job it made is this one (the same key).
    if (!(await takeTick())) return false;
    await this.store.recordScheduleJob(s.name, firedAt, jobId);
    this.options.log.info(`schedule ${s.name}: fired ${jobId}`);
    return true;
  }

  /** Fires what is due now (missed ticks once), then wakes at each next tick and every 30 s. */
  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Resolves when no look at the store started by this node (a tick, a create, a resume) is under way. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Looks at the store now (after a change on this node), or right after the look under way. */
  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.fireDue();
        } while (this.again && !this.stopped);
        if (!this.stopped) this.arm(await this.msToNextTick());
      } catch (e: unknown) {
        this.options.log.warn(`schedules: ${errorMessage(e)} (tried again later)`);
        if (!this.stopped) this.arm(this.checkEveryMs);
      } finally {
        this.running = null;
        // A change asked for a look while the next wake-up was being worked out: look again now.
        if (this.again && !this.stopped) this.wake();
      }
    })();
  }

  /**
   * Wakes in `ms`, at most the periodic check away. A tick still due right after a look (its schedule could not
   * be fired: the error is logged) is looked at again in a second, not in a loop that holds the store.
   */
  private arm(ms: number): void {
    const delay = ms <= 0 ? RETRY_DUE_MS : Math.min(ms, this.checkEveryMs);
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async msToNextTick(): Promise<number> {
    const due = (await this.store.listSchedules()).filter((s) => !s.paused).map((s) => s.nextRunAt);
    if (due.length === 0) return this.checkEveryMs;
    return Math.min(...due) * 1000 - this.clock.now();
  }
}

/**
 * The idempotency of one tick's job: the schedule's name, the tick, and the schedule's own record (one deleted
 * and made again under its name is another schedule).
 */
function tickIdempotency(s: ScheduleRecord, firedAt: number): Idempotency {
  const fingerprint = createHash("sha256")
    .update(canonicalJson([s.name, s.createdAt, s.cron, s.timezone, s.job]))
    .digest("hex");
  return { key: `ollama-coder:schedule:${s.name}:${firedAt}`, fingerprint };
}

const notFound = (name: string) => new NotFoundError(`no schedule named '${name}'`);
