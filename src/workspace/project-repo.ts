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

/** What a merge into the checked-out branch needs to know of the project's repository, in one look. */
export interface ProjectStatus {
  /** The commit checked out (null in a repository without commits). */
  head: string | null;
  /** The branch checked out (null when HEAD is detached). */
  branch: string | null;
  /** Tracked files changed and not committed, which a merge into the checked-out branch must not touch. */
  dirty: string[];
}

/** Fields before the path in `git status --porcelain=v2` entries: changed, renamed or copied, unmerged. */
const FIELDS_BEFORE_PATH: Record<string, number> = { "1": 8, "2": 9, u: 10 };

/**
 * The checked-out commit and branch and the uncommitted tracked files of the repository at `top`, from one
 * `git status` (its v2 format carries the branch header); null when `top` is no longer a git repository.
 */
export async function projectStatus(top: string): Promise<ProjectStatus | null> {
  const r = await git(
    top,
    ["status", "--porcelain=v2", "-z", "--branch", "--untracked-files=no", "--ignored=no"],
    [0, 128],
  );
  if (r.code !== 0) return null;
  const status: ProjectStatus = { head: null, branch: null, dirty: [] };
  const records = r.stdout.split("\0");
  for (let i = 0; i < records.length; i++) {
    const line = records[i] as string;
    if (line.startsWith("# branch.oid ")) {
      const oid = line.slice("# branch.oid ".length);
      status.head = oid === "(initial)" ? null : oid;
    } else if (line.startsWith("# branch.head ")) {
      const name = line.slice("# branch.head ".length);
      status.branch = name === "(detached)" ? null : name;
    } else {
      const fields = FIELDS_BEFORE_PATH[line.slice(0, line.indexOf(" "))];
      if (fields === undefined) continue;
      // The path is everything after the fixed fields (it may hold spaces); a rename's old path follows it.
      let at = 0;
      for (let f = 0; f < fields; f++) at = line.indexOf(" ", at) + 1;
      status.dirty.push(line.slice(at));
      if (line.startsWith("2 ")) i++;
    }
  }
  return status;
}
