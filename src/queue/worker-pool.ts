import type { JobRecord } from "../domain/records.js";
import { ConfigError, errorMessage } from "../errors.js";
import type { JobStore } from "../store/job-store.js";
import { isTransientStoreError } from "../store/transient-error.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { type Clock, systemClock, toSeconds } from "./clock.js";
import { announceDependents } from "./dependency-events.js";
import type { QueueEvents } from "./events.js";
import { JobRunner } from "./job-runner.js";
import { newOwnerId, ownerIsDead, retireOwnerId, workerIdOf } from "./owner.js";
import { slotToYield } from "./preemption.js";
import type { ProcessorRegistry } from "./processor.js";
import { resilientStore } from "./resilient-store.js";
import { singleFlight } from "./single-flight.js";
import { hasPendingInputs, type InputResolver, type ResolvedInputs } from "./step-inputs.js";

export interface WorkerPoolOptions {
  /** Jobs run at once by this process. */
  maxWorkers: number;
  /** How long a claimed item stays ours without a heartbeat. */
  leaseMs: number;
  heartbeatMs: number;
  /** How often expired leases are looked for. */
  sweepMs: number;
  /** Fallback look for new work when no wake-up came (other processes, missed events). */
  pollMs: number;
  flushMs: number;
  flushSize: number;
  /**
   * A job's fair turn: a runner that has held its slot this long gives it up when another job of its
   * priority waits for one (a job of higher priority takes a slot at once).
   */
  quantumMs: number;
  clock: Clock;
  log: Logger;
  /** Resolves the inputs of jobs fed by earlier jobs (workflow steps); without it such jobs wait. */
  resolveInputs?: InputResolver | undefined;
}

export const DEFAULT_POOL_OPTIONS = {
  maxWorkers: 5,
  leaseMs: 30_000,
  heartbeatMs: 10_000,
  sweepMs: 5_000,
  pollMs: 1_000,
  flushMs: 50,
  flushSize: 500,
  quantumMs: 30_000,
  clock: systemClock,
  log: silentLogger,
} satisfies WorkerPoolOptions;

/**
 * Runs up to `maxWorkers` jobs at once in this process, keeps its leases alive, recovers items of dead
 * processes, and shuts down gracefully.
 */
export class WorkerPool {
  readonly owner: string;
  readonly workerId: string;
  private readonly o: WorkerPoolOptions;
  private readonly runners = new Map<string, { runner: JobRunner; done: Promise<void> }>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  /** Jobs whose runner crashed, kept aside until the time given (ms) so a fault cannot spin the loop. */
  private readonly quarantine = new Map<string, number>();
  /** The store, its worker-side calls waiting out transient faults (see resilient-store.ts). */
  private readonly store: JobStore;
  /** Aborted when a shutdown's grace period is over: calls stop waiting for a store that is down. */
  private readonly giveUp = new AbortController();
  /** Timer callbacks still running (one of each at a time, however long the store keeps them). */
  private readonly busy = new Set<() => Promise<void>>();
  /** fill and handOverSlot, each run one at a time (a call meanwhile runs it once more after). */
  private readonly fillOnce = singleFlight(
    () => this.fill(),
    (e) => this.o.log.error(`worker pool: ${errorMessage(e)}`),
  );
  private readonly handOverOnce = singleFlight(
    () => this.handOverSlot(),
    (e) => this.o.log.error(`worker pool: ${errorMessage(e)}`),
  );
  private stopping = false;
  private started = false;

  constructor(
    store: JobStore,
    private readonly registry: ProcessorRegistry,
    private readonly events: QueueEvents,
    options: Partial<WorkerPoolOptions> = {},
  ) {
    this.o = { ...DEFAULT_POOL_OPTIONS, ...options };
    this.store = resilientStore(store, { log: this.o.log, signal: this.giveUp.signal });
    if (!Number.isInteger(this.o.maxWorkers) || this.o.maxWorkers < 1)
      throw new ConfigError("maxWorkers must be >= 1");
    this.owner = newOwnerId();
    this.workerId = workerIdOf(this.owner);
  }

  get activeJobIds(): string[] {
    return [...this.runners.keys()];
  }

  /** Jobs giving their slot up (see rebalance): their running items finish, then their slot is free. */
  get yieldingJobIds(): string[] {
    return [...this.runners.values()].filter((e) => e.runner.yielding).map((e) => e.runner.jobId);
  }

  /** Recovers what dead processes held, then starts taking work. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.sweep();
    this.unsubscribe.push(
      this.events.on("job:submitted", ({ runAt }) => {
        this.wakeAt(runAt);
        if (runAt === undefined) this.rebalance();
      }),
      this.events.on("job:cancelled", ({ jobId }) => this.runners.get(jobId)?.runner.cancel()),
      // A job whose last dependency ended (here or on another node) may run now.
      this.events.on("job:released", () => {
        this.wake();
        this.rebalance();
      }),
      this.events.on("job:priority", ({ jobId, priority }) => {
        const held = this.runners.get(jobId);
        if (held) held.runner.priority = priority;
        this.wake();
        this.rebalance();
      }),
    );
    // On a shared store, another node's progress means its slots of a job free up, and a node handing slots
    // over says so at once: look for work then.
    if (this.store.shared)
      this.unsubscribe.push(
        this.events.on("job:progress", () => this.wake()),
        this.events.on("job:slots", () => this.wake()),
      );
    this.every(this.o.heartbeatMs, () => this.heartbeat());
    this.every(this.o.sweepMs, () => this.sweep());
    this.every(this.o.pollMs, async () => {
      this.wake();
      this.rebalance();
    });
    this.wake();
  }

  /**
   * Looks for work now, or at `runAt` (a job submitted to run later; the poll finds it too, within its
   * interval, after a restart or on another node).
   */
  private wakeAt(runAt: number | undefined): void {
    const wait = runAt === undefined ? 0 : runAt * 1000 - this.o.clock.now();
    if (wait <= 0) {
      this.wake();
      return;
    }
    const t = setTimeout(
      () => {
        this.timers.splice(this.timers.indexOf(t), 1);
        this.wake();
      },
      Math.min(wait + 5, 2 ** 31 - 1),
    );
    t.unref();
    this.timers.push(t);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      if (this.busy.has(fn)) return; // still waiting for the store: no pile-up
      this.busy.add(fn);
      fn()
        .catch((e: unknown) => this.o.log.error(`worker pool: ${errorMessage(e)}`))
        .finally(() => this.busy.delete(fn));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Looks for work now. */
  wake(): void {
    if (this.stopping || !this.started) return;
    this.fillOnce();
  }

  private async fill(): Promise<void> {
    while (!this.stopping && this.runners.size < this.o.maxWorkers) {
      const now = this.o.clock.now();
      for (const [id, until] of this.quarantine) if (until <= now) this.quarantine.delete(id);
      const exclude = [...this.activeJobIds, ...this.quarantine.keys()];
      const job = await this.store.nextRunnableJob(exclude, toSeconds(now));
      if (!job && !this.stopping) {
        // Nothing to run here while another node may hold every slot of a job: ask it for some.
        await this.store.askForSlots?.(exclude, this.owner, toSeconds(now));
        (await import("node:fs")).appendFileSync(`/tmp/ho-${process.pid}.log`, `${Date.now()} ask\n`);
        return;
      }
      if (!job || this.stopping) return;
      if (hasPendingInputs(job)) {
        await this.fillInputs(job);
        continue;
      }
      const runner = new JobRunner(
        {
          store: this.store,
          registry: this.registry,
          events: this.events,
          clock: this.o.clock,
          log: this.o.log,
          owner: this.owner,
          workerId: this.workerId,
          leaseMs: this.o.leaseMs,
          flushMs: this.o.flushMs,
          flushSize: this.o.flushSize,
        },
        job,
      );
      const done = runner
        .run()
        .catch(async (e: unknown) => {
          this.quarantine.set(job.id, this.o.clock.now() + this.o.sweepMs);
          if (isTransientStoreError(e)) {
            // Not the job's fault: its leased items go back to the queue when their leases run out.
            this.o.log.warn(`job ${job.id}: paused, the store is unavailable: ${errorMessage(e)}`);
            return;
          }
          this.o.log.error(`job ${job.id}: runner crashed: ${errorMessage(e)}`);
          await this.store
            .failJob(
              job.id,
              `internal error while running the job: ${errorMessage(e)}`,
              toSeconds(this.o.clock.now()),
            )
            .catch(() => undefined);
        })
        .finally(() => {
          this.runners.delete(job.id);
          this.wake();
          this.wakeForRetries(job.id);
        });
      this.runners.set(job.id, { runner, done });
    }
  }

  /**
   * Gives a job fed by an earlier job its items (see InputResolver); with none it ends `completed` at once. A job
   * whose source has not ended, or that this process cannot resolve, is set aside for a sweep's time; one whose
   * items are not valid fails with the reason.
   */
  private async fillInputs(job: JobRecord): Promise<void> {
    const later = () => {
      this.quarantine.set(job.id, this.o.clock.now() + this.o.sweepMs);
    };
    const resolve = this.o.resolveInputs;
    if (!resolve) return later();
    let resolved: ResolvedInputs;
    try {
      resolved = await resolve(job);
    } catch (e: unknown) {
      if (isTransientStoreError(e)) return later();
      const error = `inputs of the job could not be resolved: ${errorMessage(e)}`;
      if (await this.store.failJob(job.id, error, toSeconds(this.o.clock.now())))
        this.events.emit("job:finished", { jobId: job.id, status: "failed" });
      return;
    }
    if (resolved === null) return later();
    const now = toSeconds(this.o.clock.now());
    if (!(await this.store.fillJobItems(job.id, resolved.items, resolved.metadata, now))) return;
    this.o.log.info(`job ${job.id}: inputs resolved, ${resolved.items.length} item(s)`);
    if (resolved.items.length > 0) return;
    this.events.emit("job:started", { jobId: job.id });
    const status = await this.store.finalizeJob(job.id, now);
    if (status) this.events.emit("job:finished", { jobId: job.id, status });
  }

  /**
   * A runner ends, without ending its job, when the job's only items left wait for an automatic retry: look
   * again when the first is due (the poll finds it too, after a restart or on another node).
   */
  private wakeForRetries(jobId: string): void {
    this.store
      .nextRetryAt(jobId)
      .then((at) => {
        if (at !== null) this.wakeAt(at);
      })
      .catch((e: unknown) => this.o.log.warn(`job ${jobId}: ${errorMessage(e)}`));
  }

  /**
   * When every slot is busy: hands one over to the job that waits for one if it should have it (see
   * slotToYield): a higher priority job at once, a job of the same priority once the holder's turn is over.
   * One slot at a time: while a runner is yielding, its slot is the one coming free.
   */
  rebalance(): void {
    if (this.stopping || !this.started) return;
    this.handOverOnce();
  }

  private async handOverSlot(): Promise<void> {
    if (this.runners.size < this.o.maxWorkers) return;
    const runners = [...this.runners.values()].map((e) => e.runner);
    if (runners.some((r) => r.yielding)) return;
    const now = this.o.clock.now();
    const exclude = [...this.activeJobIds, ...this.quarantine.keys()];
    const waiting = await this.store.nextRunnableJob(exclude, toSeconds(now));
    if (!waiting || this.stopping || this.runners.size < this.o.maxWorkers) return;
    const victim = slotToYield(runners, waiting.priority, now, this.o.quantumMs);
    if (!victim || !this.runners.has(victim.jobId)) return;
    this.o.log.info(
      `job ${victim.jobId} (priority ${victim.priority}) gives its slot up to job ${waiting.id} (priority ${waiting.priority})`,
    );
    victim.yieldSlot();
  }

  /** Extends the leases of every item this process holds. */
  async heartbeat(): Promise<void> {
    if (this.runners.size === 0) return;
    await this.store.renewLeases(this.owner, toSeconds(this.o.clock.now() + this.o.leaseMs));
  }

  /**
   * Requeues items whose lease expired or whose owner died on this host, fails those out of attempts,
   * and ends jobs left with nothing to run.
   */
  async sweep(): Promise<void> {
    // Our own leases first: a process waking from a pause longer than its leases (SIGSTOP, a suspended
    // machine) must not take the items it is still running for lost and hand them out again.
    await this.heartbeat();
    const now = toSeconds(this.o.clock.now());
    const dead = (await this.store.leaseOwners()).filter((o) => o !== this.owner && ownerIsDead(o));
    const swept = await this.store.sweepLeases(now, dead);
    if (swept.requeued + swept.abandoned > 0) {
      this.o.log.warn(
        `recovered ${swept.requeued} item(s) from lost workers; ${swept.abandoned} out of attempts`,
      );
    }
    for (const jobId of await this.store.idleRunningJobs()) {
      if (this.runners.has(jobId)) continue;
      const status = await this.store.finalizeJob(jobId, now);
      if (status) this.events.emit("job:finished", { jobId, status });
    }
    // Jobs still waiting on dependencies that ended (never, unless an end's release was lost): released now.
    for (const depId of await this.store.releaseEndedDependencies(now, 100))
      await announceDependents(this.store, this.events, depId);
    if (swept.requeued > 0) {
      this.wake();
      for (const jobId of swept.jobIds) this.wakeForRetries(jobId);
    }
  }

  /**
   * Graceful stop: claim nothing more, let running items finish for `graceMs`, then abort them and give
   * their items back to the queue. The store stays open (its owner closes it).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t); // clears timeouts too
    for (const off of this.unsubscribe) off();
    const entries = [...this.runners.values()];
    for (const { runner } of entries) runner.drain();
    const all = Promise.all(entries.map((e) => e.done));
    if (!(await settlesWithin(all, graceMs))) {
      this.giveUp.abort();
      this.o.log.warn(
        `shutdown: ${entries.length} job(s) still running after ${graceMs} ms; releasing their items`,
      );
      for (const { runner } of entries) runner.interrupt();
      if (!(await settlesWithin(all, 2_000))) {
        for (const { runner } of entries)
          await runner.forceRelease().catch((e: unknown) => {
            // The store is down: the leases run out by themselves and the items go back to the queue.
            this.o.log.warn(`shutdown: could not release items: ${errorMessage(e)}`);
          });
      }
    }
    retireOwnerId(this.owner);
  }
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clearTimeout(t);
        resolve(true);
      },
      () => {
        clearTimeout(t);
        resolve(true);
      },
    );
  });
}
