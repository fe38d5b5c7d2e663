/** Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  return d[a.length]![b.length]!;
}

const MAX_DISTANCE = 3;
const MIN_SIMILARITY = 0.4;
/** Longer words are not names anyone mistyped: no suggestion, and no work in proportion to their length. */
const MAX_WORD = 100;
/** How much of a name an answer repeats. */
const SHOWN = 80;

/**
 * The known word closest to a mistyped one, or null when none is close: at most 3 edits and more than 40% of
 * it alike, the rule of commander's "did you mean" (which the CLI's own options use), here for everything else.
 */
export function closestMatch(word: string, known: readonly string[]): string | null {
  if (word.length > MAX_WORD) return null;
  const lower = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = MAX_DISTANCE + 1;
  for (const candidate of known) {
    // Lengths further apart than the edits allowed cannot match (and cost nothing to skip).
    if (candidate.length <= 1 || Math.abs(candidate.length - lower.length) > MAX_DISTANCE) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    const length = Math.max(lower.length, candidate.length);
    if ((length - distance) / length > MIN_SIMILARITY && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** "unknown field 'paralel' — did you mean 'parallel'?" (or without the question when nothing is close). */
export function unknownNameMessage(what: string, name: string, known: readonly string[]): string {
  const near = closestMatch(name, known);
  const shown = name.length > SHOWN ? `${name.slice(0, SHOWN)}…` : name;
  return `unknown ${what} '${shown}'${near ? ` — did you mean '${near}'?` : ""}`;
}
