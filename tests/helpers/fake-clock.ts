import type { Clock } from "../../src/queue/clock.js";

/** A clock that only moves when told to. */
export class FakeClock implements Clock {
  constructor(private ms = 1_800_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
