import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { pidAlive } from "../util/pid-alive.js";

/** Lease owners are "host:pid:nonce"; results carry the "host:pid" part as worker_id. */
const liveOwners = new Set<string>();

export function newOwnerId(): string {
  const id = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  liveOwners.add(id);
  return id;
}

export function retireOwnerId(id: string): void {
  liveOwners.delete(id);
}

export { workerIdOf } from "../store/owner-id.js";

/**
 * Whether an owner is certainly dead: it ran on this host and its process is gone, or it carries this
 * process's pid but is not one of this process's live owners (an earlier incarnation, e.g. a restarted
 * container). Owners on other hosts are never judged here: their leases expire instead.
 */
export function ownerIsDead(owner: string): boolean {
  if (liveOwners.has(owner)) return false;
  const parts = owner.split(":");
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join(":");
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  return !pidAlive(pid);
}
