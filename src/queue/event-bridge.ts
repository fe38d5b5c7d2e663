import { randomBytes } from "node:crypto";
import { errorMessage } from "../errors.js";
import type { JobStore, StoreNotice } from "../store/job-store.js";
import type { Logger } from "../util/logger.js";
import { PROGRESS_INTERVAL_MS, type QueueEventMap, type QueueEvents } from "./events.js";

type ItemEvent = QueueEventMap["item:completed"];

/**
 * Carries queue events between processes that share a store (PostgreSQL NOTIFY): submits and priority changes
 * wake workers elsewhere, cancels reach the node running the items, progress and item events reach every API node.
 * Progress is sent at most once every PROGRESS_INTERVAL_MS per job, item events in batches every 100 ms.
 */
export async function bridgeEvents(
  store: JobStore,
  events: QueueEvents,
  log: Logger,
): Promise<() => Promise<void>> {
  if (!store.publish || !store.subscribe) return async () => undefined;
  const publish = store.publish.bind(store);
  const origin = randomBytes(8).toString("hex");
  const send = (event: string, payload: Record<string, unknown>) => {
    publish({ event, payload, origin }).catch((e: unknown) => log.warn(`event bridge: ${errorMessage(e)}`));
  };
  let replaying = false;
  const lastProgress = new Map<string, number>();
  const pendingProgress = new Map<string, NodeJS.Timeout>();
  const items: ItemEvent[] = [];
  let itemTimer: NodeJS.Timeout | null = null;
  const flushItems = () => {
    itemTimer = null;
    while (items.length > 0) send("item:completed", { items: items.splice(0, 50) });
  };

  const offs = [
    events.on("job:submitted", (p) => !replaying && send("job:submitted", p)),
    events.on("job:cancelled", (p) => !replaying && send("job:cancelled", p)),
    events.on("job:priority", (p) => !replaying && send("job:priority", p)),
    events.on("job:purged", (p) => !replaying && send("job:purged", p)),
    events.on("job:started", (p) => !replaying && send("job:started", p)),
    events.on("job:slots", (p) => !replaying && send("job:slots", p)),
    events.on("job:waiting", (p) => !replaying && send("job:waiting", p)),
    events.on("job:released", (p) => !replaying && send("job:released", p)),
    events.on("job:finished", (p) => {
      if (replaying) return;
      flushItems();
      send("job:finished", p);
    }),
    events.on("item:completed", (p) => {
      if (replaying) return;
      items.push(p);
      itemTimer ??= setTimeout(flushItems, 100);
    }),
    events.on("job:progress", ({ jobId }) => {
      if (replaying || pendingProgress.has(jobId)) return;
      const wait = Math.max(0, PROGRESS_INTERVAL_MS - (Date.now() - (lastProgress.get(jobId) ?? 0)));
      pendingProgress.set(
        jobId,
        setTimeout(() => {
          pendingProgress.delete(jobId);
          lastProgress.set(jobId, Date.now());
          send("job:progress", { jobId });
        }, wait),
      );
    }),
  ];

  const replay = (n: StoreNotice) => {
    if (n.origin === origin) return;
    replaying = true;
    try {
      if (n.event === "item:completed") {
        for (const item of (n.payload.items as ItemEvent[] | undefined) ?? [])
          events.emitRemote("item:completed", item);
      } else if (EVENT_NAMES.has(n.event)) {
        events.emitRemote(n.event as keyof QueueEventMap, n.payload as never);
      }
    } finally {
      replaying = false;
    }
  };
  const unsubscribe = await store.subscribe(replay);
  return async () => {
    for (const off of offs) off();
    for (const t of pendingProgress.values()) clearTimeout(t);
    if (itemTimer) clearTimeout(itemTimer);
    flushItems();
    await unsubscribe();
  };
}

/** The events a notice may carry (a Set: `in` on an object would also take "constructor", "toString"...). */
const EVENT_NAMES: ReadonlySet<string> = new Set([
  "job:submitted",
  "job:cancelled",
  "job:priority",
  "job:purged",
  "job:started",
  "job:slots",
  "job:waiting",
  "job:released",
  "job:finished",
  "job:progress",
]);
