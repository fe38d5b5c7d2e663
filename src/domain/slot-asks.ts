/**
 * Slots of a job handed over between nodes (PostgreSQL): a node that finds every slot of a job taken while
 * its items wait asks for some (jobs.wanted_by, wanted_at); the nodes holding the slots then leave it room
 * (JobRunner.claimLimit). An ask holds this long (seconds): an asker that keeps finding no room keeps asking,
 * and no other node's ask replaces it meanwhile.
 */
export const SLOT_ASK_SECONDS = 2;

/**
 * The part of a job's `parallel` a node keeps while another asks for slots, and below which a node whose
 * claim found no room asks (the claim statement in pg-store.ts says the same in SQL: CEIL(parallel / 2.0)).
 */
export function slotShare(parallel: number): number {
  return Math.ceil(parallel / 2);
}
