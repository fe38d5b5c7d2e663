/** Lease owners are "host:pid:nonce"; the "host:pid" part is the worker id results show. */
export function workerIdOf(owner: string): string {
  const parts = owner.split(":");
  return parts.length >= 3 ? parts.slice(0, -1).join(":") : owner;
}
