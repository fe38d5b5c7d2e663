import { cancelledByDependency } from "../domain/dependencies.js";
import type { JobStore } from "../store/job-store.js";
import type { QueueEvents } from "./events.js";

/**
 * Says what a job's end did to the jobs waiting on it (the store did it in the same write, see JobStore's job
 * dependencies): `job:released` for a job left with nothing to wait for (workers here and, through the event
 * bridge, on other nodes look for work), `job:cancelled` and `job:finished` for one the rule cancelled, and
 * then the same for the jobs waiting on that one. Called by the node that ended the job.
 */
export async function announceDependents(
  store: JobStore,
  events: QueueEvents,
  endedId: string,
): Promise<void> {
  const todo = [endedId];
  const seen = new Set<string>();
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    for (const dependent of await store.dependentsOf(id)) {
      if (seen.has(dependent)) continue;
      seen.add(dependent);
      const job = await store.getJob(dependent);
      if (job === null) continue;
      if (job.status === "cancelled" && cancelledByDependency(job.error, id)) {
        events.emit("job:cancelled", { jobId: dependent });
        events.emit("job:finished", { jobId: dependent, status: "cancelled" });
        todo.push(dependent);
      } else if (job.status === "queued" && job.waitingFor.length === 0) {
        events.emit("job:released", { jobId: dependent });
      }
    }
  }
}

/**
 * Announces the dependents of every job this process ends (completed or failed; a cancel announces its own,
 * see JobQueue.cancel). Returns the unsubscribe function.
 */
export function followDependencies(store: JobStore, events: QueueEvents): () => void {
  return events.on("job:finished", ({ jobId, status }) => {
    if (events.isRemote || status === "cancelled") return;
    announceDependents(store, events, jobId).catch(() => undefined); // the workers' sweep is the backstop
  });
}
