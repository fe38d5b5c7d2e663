/**
 * How an agent task's files are kept from its neighbours':
 * - `worktree`: a git worktree of its own, on a branch of its own, from the job's base commit;
 * - `copy`: a copy of a snapshot of the project taken when the job started (reflinks where the file system
 *   has them, never hard links, which would let a task's in-place write reach the original);
 * - `shared`: every task edits the project itself (the behaviour before isolation existed).
 */
export const ISOLATIONS = ["worktree", "copy", "shared"] as const;
export type Isolation = (typeof ISOLATIONS)[number];

/**
 * What becomes of a finished task's changes:
 * - `merge`: tasks that succeeded are merged into the project one at a time, in the order they finish;
 * - `patch`: each task's changes are written as a patch file;
 * - `none`: branches (and diffs in the results) only.
 */
export const APPLY_MODES = ["merge", "patch", "none"] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

/** Directories a check needs that git does not carry; shared read-only with every task's workspace. */
export const DEFAULT_LINK_PATHS = ["node_modules", ".venv", "venv"] as const;

/** What commands leave behind that is never part of a task's changes. */
export const NOISE_PATHS = ["__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.pyc"] as const;

/** git pathspecs leaving out the noise, and the given paths (relative to where git runs), wherever they are. */
export function excludePathspecs(paths: readonly string[]): string[] {
  return [
    ...NOISE_PATHS.map((n) => `:(exclude,glob)**/${n}${n.includes("*") ? "" : "/**"}`),
    ...paths.map((p) => `:(exclude,literal)${p}`),
  ];
}
