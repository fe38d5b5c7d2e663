/** A job holding a worker slot, as the slot's hand-over rule sees it. */
export interface SlotHolder {
  priority: number;
  /** When it took the slot (ms). */
  heldSince: number;
}

/**
 * Which slot holder gives its slot up to a job of priority `waiting` when every slot is busy, or null: the
 * lowest priority holder (of those, the one holding its slot longest) when it is of lower priority than the
 * waiting job (preemption, at once), or of the same priority and it has held its slot for `quantumMs`
 * (fair turns: no job starves behind a long one of its priority). A higher priority holder never yields.
 */
export function slotToYield<T extends SlotHolder>(
  holders: readonly T[],
  waiting: number,
  now: number,
  quantumMs: number,
): T | null {
  let victim: T | null = null;
  for (const h of holders)
    if (
      victim === null ||
      h.priority < victim.priority ||
      (h.priority === victim.priority && h.heldSince < victim.heldSince)
    )
      victim = h;
  if (victim === null || victim.priority > waiting) return null;
  if (victim.priority < waiting) return victim;
  return now - victim.heldSince >= quantumMs ? victim : null;
}
