import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { bridgeEvents } from "../src/queue/event-bridge.js";
import { PROGRESS_INTERVAL_MS, type QueueEventMap, QueueEvents } from "../src/queue/events.js";
import type { JobStore, StoreNotice } from "../src/store/job-store.js";
import { memoryStore, recordingLogger } from "./helpers/memory-store.js";

/**
 * Two nodes on one store: a real in-memory store with LISTEN/NOTIFY played in process (every notice reaches
 * every subscriber, its sender included, as PostgreSQL does).
 */
class NoticeHub {
  readonly sent: StoreNotice[] = [];
  private readonly listeners = new Set<(n: StoreNotice) => void>();
  failing = false;

  node(store: JobStore): JobStore {
    return Object.assign(Object.create(store) as JobStore, {
      publish: async (n: StoreNotice) => {
        if (this.failing) throw new Error("connection lost");
        this.sent.push(n);
        // NOTIFY travels as JSON, and arrives after the sender's turn.
        const copy = JSON.parse(JSON.stringify(n)) as StoreNotice;
        queueMicrotask(() => {
          for (const l of this.listeners) l(copy);
        });
      },
      subscribe: async (l: (n: StoreNotice) => void) => {
        this.listeners.add(l);
        return async () => void this.listeners.delete(l);
      },
    });
  }

  /** Delivers a notice as if another process sent it. */
  deliver(n: StoreNotice): void {
    for (const l of this.listeners) l(n);
  }
}

const item = (jobId: string, seq: number): QueueEventMap["item:completed"] => ({
  jobId,
  jobType: "unit",
  seq,
  itemId: `i${seq}`,
  status: "succeeded",
});

describe("event bridge", () => {
  const store = memoryStore();
  const log = recordingLogger();
  let hub: NoticeHub;
  let a: QueueEvents;
  let b: QueueEvents;
  let stops: (() => Promise<void>)[];

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    hub = new NoticeHub();
    a = new QueueEvents();
    b = new QueueEvents();
    log.warnings.length = 0;
    stops = [await bridgeEvents(hub.node(store), a, log), await bridgeEvents(hub.node(store), b, log)];
  });
  afterEach(async () => {
    for (const stop of stops) await stop();
    vi.useRealTimers();
  });

  const seen = <K extends keyof QueueEventMap>(bus: QueueEvents, name: K): QueueEventMap[K][] => {
    const out: QueueEventMap[K][] = [];
    bus.on(name, (p) => void out.push(p));
    return out;
  };

  it("carries submits, starts, cancels and ends to the other node, once, and not back to the sender", async () => {
    const atA = seen(a, "job:submitted");
    const atB = {
      submitted: seen(b, "job:submitted"),
      started: seen(b, "job:started"),
      cancelled: seen(b, "job:cancelled"),
      finished: seen(b, "job:finished"),
    };
    a.emit("job:submitted", { jobId: "j1", type: "unit" });
    a.emit("job:started", { jobId: "j1" });
    a.emit("job:cancelled", { jobId: "j1" });
    a.emit("job:finished", { jobId: "j1", status: "cancelled" });
    await vi.advanceTimersByTimeAsync(0);
    expect(atB).toEqual({
      submitted: [{ jobId: "j1", type: "unit" }],
      started: [{ jobId: "j1" }],
      cancelled: [{ jobId: "j1" }],
      finished: [{ jobId: "j1", status: "cancelled" }],
    });
    expect(atA).toHaveLength(1); // its own emit only: its notice came back and was dropped
    // What B replayed is not sent on again (no ping-pong between nodes).
    expect(hub.sent.map((n) => n.event)).toEqual([
      "job:submitted",
      "job:started",
      "job:cancelled",
      "job:finished",
    ]);
  });

  it("sends a job's progress at most once per PROGRESS_INTERVAL_MS, each job on its own", async () => {
    const progress = seen(b, "job:progress");
    a.emit("job:progress", { jobId: "j1" });
    await vi.advanceTimersByTimeAsync(0);
    expect(progress).toEqual([{ jobId: "j1" }]);
    for (let t = 0; t < 10; t++) {
      await vi.advanceTimersByTimeAsync(10);
      a.emit("job:progress", { jobId: "j1" });
    }
    a.emit("job:progress", { jobId: "j2" });
    await vi.advanceTimersByTimeAsync(0);
    expect(progress).toEqual([{ jobId: "j1" }, { jobId: "j2" }]);
    await vi.advanceTimersByTimeAsync(PROGRESS_INTERVAL_MS - 101);
    expect(progress).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(progress).toEqual([{ jobId: "j1" }, { jobId: "j2" }, { jobId: "j1" }]);
    await vi.advanceTimersByTimeAsync(10 * PROGRESS_INTERVAL_MS);
    expect(progress).toHaveLength(3); // nothing new happened, nothing more sent
  });

  it("sends item events in batches of up to 50 every 100 ms, in order", async () => {
    const items = seen(b, "item:completed");
    for (let seq = 0; seq < 120; seq++) a.emit("item:completed", item("j1", seq));
    await vi.advanceTimersByTimeAsync(99);
    expect(items).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(hub.sent.map((n) => (n.payload.items as unknown[]).length)).toEqual([50, 50, 20]);
    expect(items.map((i) => i.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });

  it("a job's end sends its waiting item events first", async () => {
    const order: string[] = [];
    b.on("item:completed", (p) => void order.push(`item ${p.seq}`));
    b.on("job:finished", (p) => void order.push(`finished ${p.status}`));
    a.emit("item:completed", item("j1", 0));
    a.emit("item:completed", item("j1", 1));
    a.emit("job:finished", { jobId: "j1", status: "completed" });
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["item 0", "item 1", "finished completed"]);
  });

  it("ignores notices of events it does not know, inherited object keys included", async () => {
    const emitted = vi.spyOn(b, "emit");
    hub.deliver({ event: "job:deleted", payload: { jobId: "j1" }, origin: "elsewhere" });
    hub.deliver({ event: "constructor", payload: {}, origin: "elsewhere" });
    hub.deliver({ event: "toString", payload: {}, origin: "elsewhere" });
    hub.deliver({ event: "job:progress", payload: { jobId: "j1" }, origin: "elsewhere" });
    expect(emitted.mock.calls).toEqual([["job:progress", { jobId: "j1" }]]);
  });

  it("a failed publish is logged, not thrown at the emitter", async () => {
    hub.failing = true;
    expect(() => a.emit("job:submitted", { jobId: "j1", type: "unit" })).not.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    expect(log.warnings).toEqual(["event bridge: connection lost"]);
  });

  it("stopping sends the item events still waiting, drops pending progress, and stops both ways", async () => {
    const [stopA] = stops.splice(0, 1);
    a.emit("job:progress", { jobId: "j1" });
    await vi.advanceTimersByTimeAsync(0);
    a.emit("job:progress", { jobId: "j1" }); // waits for the interval
    a.emit("item:completed", item("j1", 7));
    await stopA?.();
    a.emit("job:submitted", { jobId: "j2", type: "unit" });
    await vi.advanceTimersByTimeAsync(PROGRESS_INTERVAL_MS);
    expect(hub.sent.map((n) => n.event)).toEqual(["job:progress", "item:completed"]);
    const atA = seen(a, "job:submitted");
    b.emit("job:submitted", { jobId: "j3", type: "unit" });
    await vi.advanceTimersByTimeAsync(0);
    expect(atA).toEqual([]);
  });

  it("is a no-op on a store that cannot reach other processes", async () => {
    const c = new QueueEvents();
    const stop = await bridgeEvents(store, c, log);
    c.emit("job:submitted", { jobId: "j1", type: "unit" });
    await stop();
    expect(hub.sent).toEqual([]);
  });
});
