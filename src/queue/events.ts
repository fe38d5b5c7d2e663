import { EventEmitter } from "node:events";
import type { ItemFinalStatus, JobStatus } from "../domain/statuses.js";

/** Every event the queue emits, by namespaced name. */
export interface QueueEventMap {
  /** `runAt`: the job waits until then (epoch seconds). */
  "job:submitted": { jobId: string; type: string; runAt?: number };
  /** A job was stored waiting on other jobs (`depends_on`) that have not ended yet. */
  "job:waiting": { jobId: string; waitingFor: string[] };
  /** The last dependency of a waiting job ended: it may run now. */
  "job:released": { jobId: string };
  "job:started": { jobId: string };
  "job:progress": { jobId: string };
  /** A node wrote results that free slots of a job another node asked for: nodes look for work now. */
  "job:slots": { jobId: string };
  "job:finished": { jobId: string; status: JobStatus };
  "job:cancelled": { jobId: string };
  /** The job's priority was changed (PATCH): workers may hand it a slot, or take one from it. */
  "job:priority": { jobId: string; priority: number };
  /** Ended jobs deleted (retention, clean-up, purge): their files go too, on every node. */
  "job:purged": { jobIds: string[] };
  "item:completed": {
    jobId: string;
    jobType: string;
    seq: number;
    itemId: string;
    status: ItemFinalStatus;
    /** Seconds the item ran in this process (absent when it never started). */
    durationSeconds?: number;
    /** Answered from the result cache (see result-cache.ts). */
    cached?: boolean;
  };
}

export type QueueEventName = keyof QueueEventMap;

/** The shortest time between two progress messages of one job, to other nodes and to event streams alike. */
export const PROGRESS_INTERVAL_MS = 250;

/** A typed event bus: in-process now, fed from LISTEN/NOTIFY by backends that span processes. */
export class QueueEvents {
  private readonly emitter = new EventEmitter();
  private remote = false;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit<K extends QueueEventName>(name: K, payload: QueueEventMap[K]): void {
    this.emitter.emit(name, payload);
  }

  /** Emits an event that happened in another process (the event bridge's replay of a notice). */
  emitRemote<K extends QueueEventName>(name: K, payload: QueueEventMap[K]): void {
    this.remote = true;
    try {
      this.emit(name, payload);
    } finally {
      this.remote = false;
    }
  }

  /** True while listeners run for an event of another process (so a node logs only what it did itself). */
  get isRemote(): boolean {
    return this.remote;
  }

  on<K extends QueueEventName>(name: K, listener: (payload: QueueEventMap[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  /** Resolves with the first payload that matches. */
  waitFor<K extends QueueEventName>(
    name: K,
    match: (payload: QueueEventMap[K]) => boolean = () => true,
  ): Promise<QueueEventMap[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (p) => {
        if (!match(p)) return;
        off();
        resolve(p);
      });
    });
  }
}
