export interface TranscriptEntry {
  role: string;
  content: string;
  tool_calls?: { name: string; arguments: Record<string, unknown> }[];
  tool_name?: string;
  model?: string;
}

/** `s` cut to `bytes` characters, saying how many more there were. */
export const cap = (s: string, bytes: number): string =>
  s.length <= bytes ? s : `${s.slice(0, bytes)}\n… [${s.length - bytes} more characters]`;

/** The transcript within `budget` (JSON characters): the first two entries, a note, and the latest ones. */
export function capTranscript(entries: TranscriptEntry[], budget: number): TranscriptEntry[] {
  const size = (e: TranscriptEntry) => JSON.stringify(e).length;
  let total = entries.reduce((n, e) => n + size(e), 0);
  if (total <= budget) return entries;
  const head = entries.slice(0, 2);
  const tail = entries.slice(2);
  let dropped = 0;
  while (tail.length > 1 && total > budget) {
    total -= size(tail.shift()!);
    dropped++;
  }
  return [...head, { role: "note", content: `… ${dropped} transcript entries omitted …` }, ...tail];
}
