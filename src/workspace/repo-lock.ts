/**
 * One at a time per repository and purpose: git's worktree bookkeeping (add, remove, prune) is not safe
 * when two run at once in one repository, and merges must happen in the order asked.
 */
const chains = new Map<string, Promise<unknown>>();

export function oneAtATime<T>(
  repo: string,
  purpose: "worktrees" | "merges",
  fn: () => Promise<T>,
): Promise<T> {
  const key = `${purpose}\0${repo}`;
  const next = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
  const settled = next.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, settled);
  void settled.then(() => {
    if (chains.get(key) === settled) chains.delete(key);
  });
  return next;
}
