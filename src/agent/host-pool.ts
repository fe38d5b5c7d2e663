import { ConfigError } from "../errors.js";

/**
 * Ollama hosts with a concurrency limit each, shared by every job of the process, so that a batch never
 * floods a GPU. Requests go to the least busy host that can serve the model; past the limits they wait.
 */
export interface Host {
  url: string;
  inFlight: number;
  /** Models known to be on the host (null until listed). */
  models: Set<string> | null;
}

interface Waiter {
  model: string | null;
  resolve: (host: Host) => void;
}

export function normalizeModel(name: string): string {
  return name.includes(":") ? name : `${name}:latest`;
}

export class HostPool {
  readonly hosts: Host[];
  private readonly waiters: Waiter[] = [];

  constructor(
    urls: readonly string[],
    readonly limit: number,
  ) {
    if (urls.length === 0) throw new ConfigError("at least one Ollama URL is needed");
    this.hosts = urls.map((url) => ({ url: url.replace(/\/+$/, ""), inFlight: 0, models: null }));
  }

  /** Hosts that can serve the model (all, while their models are unknown). */
  candidates(model: string | null): Host[] {
    if (model === null) return this.hosts;
    const m = normalizeModel(model);
    const known = this.hosts.filter((h) => h.models === null || h.models.has(m));
    return known.length > 0 ? known : this.hosts;
  }

  private pick(model: string | null): Host | null {
    let best: Host | null = null;
    for (const h of this.candidates(model)) {
      if (h.inFlight >= this.limit) continue;
      if (best === null || h.inFlight < best.inFlight) best = h;
    }
    return best;
  }

  /** A slot on the least busy host; waits (abortably) while every candidate is at its limit. */
  acquire(model: string | null, signal?: AbortSignal): Promise<Host> {
    signal?.throwIfAborted();
    const host = this.pick(model);
    if (host) {
      host.inFlight++;
      return Promise.resolve(host);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        model,
        resolve: (h) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(h);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(host: Host): void {
    host.inFlight--;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      const h = this.pick(w.model);
      if (!h) continue;
      this.waiters.splice(i, 1);
      h.inFlight++;
      w.resolve(h);
      return;
    }
  }
}
