/** Time source for leases and timestamps; tests swap in a fake one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Epoch seconds (float), the unit of every timestamp in the REST contract. */
export const toSeconds = (ms: number): number => ms / 1000;
