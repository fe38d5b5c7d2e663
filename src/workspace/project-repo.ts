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

/** The repository the directory is in, or null when it is in none. */
export async function findRepo(dir: string): Promise<ProjectRepo | null> {
  const inside = await git(dir, ["rev-parse", "--is-inside-work-tree"], [0, 128]);
  if (inside.code !== 0 || inside.stdout.trim() !== "true") return null;
  const [top, prefix] = (await git(dir, ["rev-parse", "--show-toplevel", "--show-prefix"])).stdout.split(
    "\n",
  );
  const head = await git(dir, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], [0, 1]);
  const branch = await git(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"], [0, 1]);
  const files = head.code === 0 ? await git(dir, ["ls-tree", "-r", "--name-only", "HEAD", "--", "."]) : null;
  return {
    top: top ?? dir,
    prefix: prefix ?? "",
    head: head.code === 0 ? head.stdout.trim() : null,
    branch: branch.code === 0 ? branch.stdout.trim() : null,
    tracked: (files?.stdout.trim() ?? "") !== "",
  };
}

/** A branch name git accepts, from any task id ("a b/../c" → "a-b/c"). */
export function branchPart(id: string): string {
  const cleaned = id
    .normalize("NFKC")
    .replace(/[\s~^:?*[\\\x00-\x1f\x7f]+/g, "-")
    .split("/")
    .map((p) => p.replace(/^\.+|\.lock$|\.+$/g, "").replace(/\.\.+/g, "."))
    .filter((p) => p !== "" && p !== "@")
    .join("/")
    .replace(/@\{/g, "-");
  return cleaned === "" ? "task" : cleaned.slice(0, 200);
}

/** A single directory name from any id (branchPart's, its slashes flattened). */
export function dirPart(id: string): string {
  return branchPart(id).replace(/\//g, "_");
}

/** Tracked files changed and not committed, which a merge into the checked-out branch must not touch. */
export async function dirtyFiles(top: string): Promise<string[]> {
  const out = (await git(top, ["status", "--porcelain=v1", "-z", "--untracked-files=no"])).stdout;
  return out
    .split("\0")
    .filter(Boolean)
    .map((l) => l.slice(3));
}
