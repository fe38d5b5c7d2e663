/**
 * Globs for paths (a workflow step's `filter`), matched in time proportional to the path's length times the
 * pattern's, whatever the pattern: a regular expression built from a glob (what minimatch does) backtracks, and
 * `*a*a*a*a*a*a*a*a*b` against a long name takes longer than the server can give (it froze the event loop).
 * Here the pattern is a small automaton whose states are all advanced together, one character at a time.
 *
 * Syntax: `*` any run of characters but `/`; `**` any run, `/` included (as a whole segment followed by `/`,
 * zero or more directories); `?` one character but `/`; `[abc]`, `[a-z]`, `[!a-z]` one character of a class; `{a,b}`
 * alternatives (at most MAX_ALTERNATIVES in all); `\x` the character x. A pattern without `/` matches the file
 * name at any depth (`*.py` matches `src/a.py`), as in .gitignore. Dot files are not special.
 */

/** The most patterns braces may expand to. */
export const MAX_ALTERNATIVES = 8;

type Token =
  | { kind: "char"; c: string }
  | { kind: "one" }
  | { kind: "class"; negated: boolean; ranges: [string, string][] }
  | { kind: "star" }
  | { kind: "globstar" }
  /** `**` as a whole segment followed by `/`: nothing, or anything that ends in `/`. */
  | { kind: "dirs" };

export class GlobError extends Error {}

/** A compiled glob: `matches(path)`. Throws GlobError for a pattern it cannot take. */
export class Glob {
  private readonly alternatives: Token[][];
  private readonly baseOnly: boolean;

  constructor(pattern: string) {
    this.baseOnly = !pattern.includes("/");
    this.alternatives = expandBraces(pattern).map(tokenize);
  }

  matches(path: string): boolean {
    const subject = this.baseOnly ? path.slice(path.lastIndexOf("/") + 1) : path;
    return this.alternatives.some((tokens) => run(tokens, subject));
  }
}

/** `{a,b}x{c,d}` → `axc`, `axd`, `bxc`, `bxd` (nested braces too), at most MAX_ALTERNATIVES. */
function expandBraces(pattern: string): string[] {
  const open = findUnescaped(pattern, "{", 0);
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      close = i;
      break;
    } else if (c === "," && depth === 1) commas.push(i);
  }
  if (close < 0) throw new GlobError("a '{' has no matching '}'");
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const part = pattern.slice((bounds[k] as number) + 1, bounds[k + 1]);
    for (const expanded of expandBraces(head + part + tail)) {
      out.push(expanded);
      if (out.length > MAX_ALTERNATIVES)
        throw new GlobError(`braces expand to more than ${MAX_ALTERNATIVES} patterns`);
    }
  }
  return out;
}

function findUnescaped(s: string, char: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === char) return i;
  }
  return -1;
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "\\") {
      if (i + 1 >= pattern.length) throw new GlobError("the pattern ends with a lone '\\'");
      tokens.push({ kind: "char", c: pattern[++i] as string });
    } else if (c === "?") tokens.push({ kind: "one" });
    else if (c === "*") {
      if (pattern[i + 1] !== "*") {
        // Consecutive stars are one star: `a**b` inside a segment is `a*b`.
        if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
        continue;
      }
      while (pattern[i + 1] === "*") i++;
      const wholeSegment = (i < 2 || pattern[i - 2] === "/") && pattern[i + 1] === "/";
      if (wholeSegment) {
        tokens.push({ kind: "dirs" });
        i++; // the '/' is part of it
      } else tokens.push({ kind: "globstar" });
    } else if (c === "[") {
      const end = classEnd(pattern, i);
      if (end < 0) tokens.push({ kind: "char", c });
      else {
        tokens.push(classToken(pattern.slice(i + 1, end)));
        i = end;
      }
    } else tokens.push({ kind: "char", c });
  }
  return tokens;
}

/** Where the class opened at `start` closes (a `]` right after `[` or `[!` is a member), or -1. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === "!" || pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  for (; i < pattern.length; i++) if (pattern[i] === "]") return i;
  return -1;
}

function classToken(body: string): Token {
  const negated = body.startsWith("!") || body.startsWith("^");
  const members = negated ? body.slice(1) : body;
  const ranges: [string, string][] = [];
  for (let i = 0; i < members.length; i++) {
    const from = members[i] as string;
    if (members[i + 1] === "-" && i + 2 < members.length) {
      ranges.push([from, members[i + 2] as string]);
      i += 2;
    } else ranges.push([from, from]);
  }
  return { kind: "class", negated, ranges };
}

/**
 * Runs the automaton: state 2j is "token j is next", state 2j+1 is "inside the directories token j (a
 * whole-segment `**`), past its start". Every state is advanced on each character, so the cost is the path's length times the states.
 */
function run(tokens: Token[], subject: string): boolean {
  const n = tokens.length;
  let current = new Uint8Array(2 * n + 2);
  let next = new Uint8Array(2 * n + 2);
  close(tokens, current, 0);
  for (let p = 0; p < subject.length; p++) {
    const c = subject[p] as string;
    next.fill(0);
    let any = false;
    for (let s = 0; s < 2 * n; s++) {
      if (!current[s]) continue;
      const j = s >> 1;
      const t = tokens[j] as Token;
      if (s & 1) {
        // Inside the directories: any character stays inside; a '/' may also end them.
        next[s] = 1;
        if (c === "/") close(tokens, next, 2 * (j + 1));
        any = true;
        continue;
      }
      switch (t.kind) {
        case "char":
          if (c === t.c) {
            close(tokens, next, 2 * (j + 1));
            any = true;
          }
          break;
        case "one":
          if (c !== "/") {
            close(tokens, next, 2 * (j + 1));
            any = true;
          }
          break;
        case "class":
          if (c !== "/" && inClass(t, c)) {
            close(tokens, next, 2 * (j + 1));
            any = true;
          }
          break;
        case "star":
          if (c !== "/") {
            close(tokens, next, s);
            any = true;
          }
          break;
        case "globstar":
          {
            close(tokens, next, s);
            any = true;
          }
          break;
        case "dirs":
          if (c === "/") close(tokens, next, 2 * (j + 1));
          next[s + 1] = 1;
          any = true;
          break;
      }
    }
    if (!any) return false;
    [current, next] = [next, current];
  }
  return current[2 * n] === 1;
}

/** Adds state `s` and every state reachable from it without a character (past stars and `**`). */
function close(tokens: Token[], set: Uint8Array, s: number): void {
  for (let state = s; ; state = 2 * ((state >> 1) + 1)) {
    set[state] = 1;
    const t = tokens[state >> 1];
    if (state & 1 || t === undefined) return;
    if (t.kind !== "star" && t.kind !== "globstar" && t.kind !== "dirs") return;
  }
}

function inClass(t: { negated: boolean; ranges: [string, string][] }, c: string): boolean {
  const hit = t.ranges.some(([from, to]) => c >= from && c <= to);
  return t.negated ? !hit : hit;
}
