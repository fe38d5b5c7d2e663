import { createHash } from "node:crypto";
import { git } from "./git.js";

/** The git repository a project directory is in, and where in it. */
export interface ProjectRepo {
  /** The repository's top-level directory. */
  top: string;
  /** The project directory relative to `top` ("" at the top, else ending in "/"). */
  prefix: string;
  /** The commit checked out (null in a repository without commits). */
  head: string | null;
  /** The branch checked out (null when HEAD is detached). */
  branch: string | null;
  /**
   * Whether the project's files are in the repository's commit. A directory inside a repository that ignores it
   * (a `./project` inside a clone of something else) is not that repository's project.
   */
  tracked: boolean;
}

/**
 * The repository the directory is in, or null when it is in none. One git process where the repository has a
 * commit (the usual case; a merge asks once per batch), and one more to tell whether the project's files are
 * in that commit when `tracked` is asked for.
 */
export async function findRepo(dir: string, o: { tracked?: boolean } = {}): Promise<ProjectRepo | null> {
  const seen = await git(
    dir,
    [
      "rev-parse",
      "--is-inside-work-tree",
      "--show-toplevel",
      "--show-prefix",
      "HEAD",
      "--symbolic-full-name",
      "HEAD",
    ],
    [0, 128],
  );
  const [inside, top, prefix, head, ref] = seen.stdout.split("\n");
  if (inside !== "true" || top === undefined) return null;
  const repo: ProjectRepo = {
    top,
    prefix: prefix ?? "",
    head: null,
    branch: null,
    tracked: false,
  };
  if (seen.code !== 0) {
    // No commit yet: the branch HEAD names is still to be born.
    const branch = await git(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"], [0, 1]);
    return { ...repo, branch: branch.code === 0 ? branch.stdout.trim() : null };
  }
  repo.head = head ?? null;
  repo.branch = ref?.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;
  if (o.tracked !== false) {
    // The project directory's own entries in the commit (not recursive: one entry is enough).
    const files = await git(dir, ["ls-tree", "--name-only", "HEAD", "--", "."]);
    repo.tracked = files.stdout.trim() !== "";
  }
  return repo;
}

/**
 * One path component that git takes as part of a branch name and a file system as a directory name, from any
 * id ("a b/../c" → "a-b_c-1f2e3d4c"). An id that had to change gets a hash of itself appended, so that two
 * ids never share a name ("a b" and "a-b", "a/b" and "a_b" would otherwise share a task's branch and
 * workspace); slashes are flattened, so that one task's branch never sits where another's folder would
 * ("t" and "t/x" cannot both be branches).
 */
export function branchPart(id: string): string {
  const cleaned = id
    .normalize("NFKC")
    .replace(/[\s~^:?*[\\\x00-\x1f\x7f]+/g, "-")
    .split("/")
    .map((p) => p.replace(/^\.+|\.lock$|\.+$/g, "").replace(/\.\.+/g, "."))
    .filter((p) => p !== "" && p !== "@")
    .join("_")
    .replace(/@\{/g, "-");
  const base = cleaned === "" ? "task" : cleaned;
  if (base === id && base.length <= 200) return base;
  return `${base.slice(0, 190).replace(/\.+$/, "")}-${createHash("sha256").update(id).digest("hex").slice(0, 8)}`;
}

/** A single directory name from any id: the same as its branch part (which has no slash). */
export function dirPart(id: string): string {
  return branchPart(id);
}

/** Tracked files changed and not committed, which a merge into the checked-out branch must not touch. */
export async function dirtyFiles(top: string): Promise<string[]> {
  const out = (await git(top, ["status", "--porcelain=v1", "-z", "--untracked-files=no"])).stdout;
  return out
    .split("\0")
    .filter(Boolean)
    .map((l) => l.slice(3));
}
