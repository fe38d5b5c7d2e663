import { type Clock, systemClock } from "../queue/clock.js";

export interface AuthFailureLimits {
  /** Failed attempts a client may make before it must wait. */
  free: number;
  /** A client quiet this long (and not waiting) starts again from zero. */
  windowMs: number;
  /** The first wait; each further failure doubles it… */
  baseBlockMs: number;
  /** …up to this. */
  maxBlockMs: number;
  /** Clients remembered at once (the oldest are forgotten first), so a flood cannot grow memory. */
  maxClients: number;
}

/** Always on, loopback included: API keys cannot be guessed at the speed of the network. */
export const AUTH_FAILURE_LIMITS: AuthFailureLimits = {
  free: 10,
  windowMs: 10 * 60_000,
  baseBlockMs: 1000,
  maxBlockMs: 15 * 60_000,
  maxClients: 10_000,
};

interface Failures {
  count: number;
  lastAt: number;
  blockedUntil: number;
}

/** Counts failed authentications per client and makes it wait, exponentially longer, past `free` of them. */
export class AuthFailureLimiter {
  private readonly clients = new Map<string, Failures>();

  constructor(
    private readonly limits: AuthFailureLimits = AUTH_FAILURE_LIMITS,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** How long (ms) this client must still wait before it may try again; 0 when it may. */
  blockedFor(client: string): number {
    const f = this.clients.get(client);
    return f ? Math.max(0, f.blockedUntil - this.clock.now()) : 0;
  }

  /** Records a failed attempt; returns how long (ms) the client must now wait (0 within its free attempts). */
  fail(client: string): number {
    const now = this.clock.now();
    let f = this.clients.get(client);
    if (f && f.blockedUntil <= now && now - f.lastAt > this.limits.windowMs) f = undefined;
    f ??= { count: 0, lastAt: now, blockedUntil: 0 };
    f.count += 1;
    f.lastAt = now;
    const over = f.count - this.limits.free;
    const wait = over > 0 ? Math.min(this.limits.maxBlockMs, this.limits.baseBlockMs * 2 ** (over - 1)) : 0;
    if (wait > 0) f.blockedUntil = now + wait;
    this.clients.delete(client); // re-inserted last: the map's order is the eviction order
    this.clients.set(client, f);
    for (const oldest of this.clients.keys()) {
      if (this.clients.size <= this.limits.maxClients) break;
      this.clients.delete(oldest);
    }
    return wait;
  }

  succeed(client: string): void {
    this.clients.delete(client);
  }
}
