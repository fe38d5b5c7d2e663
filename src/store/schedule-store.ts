import type { JsonObject } from "../domain/json.js";

/** A recurring schedule as a store keeps it; times are epoch seconds. */
export interface ScheduleRecord {
  name: string;
  cron: string;
  timezone: string;
  /** The submit body each firing sends (`POST /batch/jobs`'s, with its type). */
  job: JsonObject;
  paused: boolean;
  /** The next tick to fire; the arbiter between nodes (see claimScheduleTick). */
  nextRunAt: number;
  lastFiredAt: number | null;
  lastJobId: string | null;
  createdAt: number;
}

/** The schedules table: the store knows a schedule's rows, not what cron means. */
export interface ScheduleStore {
  /** Adds a schedule; false when one of that name exists. */
  createSchedule(schedule: ScheduleRecord): Promise<boolean>;
  getSchedule(name: string): Promise<ScheduleRecord | null>;
  /** Every schedule, by name. */
  listSchedules(): Promise<ScheduleRecord[]>;
  /** False when there was none of that name. */
  deleteSchedule(name: string): Promise<boolean>;
  /** Pauses or resumes a schedule, with its next tick; null when there is none of that name. */
  setSchedulePaused(name: string, paused: boolean, nextRunAt: number): Promise<ScheduleRecord | null>;
  /**
   * Takes the tick `expectedNextRunAt` of an unpaused schedule, in one statement: moves `next_run_at` on to
   * `nextRunAt` and records `firedAt`, only while `next_run_at` is still `expectedNextRunAt`. Of several
   * processes asking for the same tick exactly one gets true.
   */
  claimScheduleTick(
    name: string,
    expectedNextRunAt: number,
    firedAt: number,
    nextRunAt: number,
  ): Promise<boolean>;
  /** Records the job that the firing at `firedAt` made (unless a later firing already recorded its own). */
  recordScheduleJob(name: string, firedAt: number, jobId: string): Promise<void>;
}
