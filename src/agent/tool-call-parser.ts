import type { OllamaToolCall } from "./ollama-types.js";

export interface ParsedCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface ParsedTurn {
  calls: ParsedCall[];
  /** Why the turn's tool calls could not be used (bad JSON, unknown tool, missing name); null when fine. */
  problem: string | null;
  /** Whether the calls came from text rather than native tool_calls. */
  fromText: boolean;
}

function asArgs(value: unknown): Record<string, unknown> | null {
  if (value === undefined || value === null) return {};
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value) as unknown;
      return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  return typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** `{name, arguments|args|parameters}`, `{function: {name, arguments}}`, `{tool, …}` → a call, or why not. */
function toCall(value: unknown): ParsedCall | string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "a tool call must be a JSON object";
  const v = value as Record<string, unknown>;
  const inner =
    typeof v.function === "object" && v.function !== null ? (v.function as Record<string, unknown>) : v;
  const name = inner.name ?? inner.tool ?? inner.tool_name;
  if (typeof name !== "string" || !name.trim()) return 'a tool call needs a "name"';
  const args = asArgs(inner.arguments ?? inner.args ?? inner.parameters ?? inner.input);
  if (args === null) return `the arguments of '${name}' must be a JSON object`;
  return { name: name.trim(), arguments: args };
}

function looksLikeCall(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(looksLikeCall);
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return "name" in v || "function" in v || "tool" in v || "tool_name" in v;
}

/** Finds the balanced JSON object or array starting at `start`, if any. */
function balancedJson(text: string, start: number): string | null {
  const open = text[start];
  const close = open === "{" ? "}" : "]";
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}

/** JSON candidates written in text: <tool_call> tags, fenced blocks, then bare objects/arrays. */
function textCandidates(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g))
    if (m[1]?.trim()) out.push(m[1].trim());
  if (out.length) return out;
  for (const m of text.matchAll(/```(?:json|tool_call|tool|javascript|js)?\s*\n?([\s\S]*?)```/g)) {
    const body = m[1]?.trim();
    if (body && (body.startsWith("{") || body.startsWith("["))) out.push(body);
  }
  if (out.length) return out;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "{" && text[i] !== "[") continue;
    const json = balancedJson(text, i);
    if (!json) continue;
    out.push(json);
    i += json.length - 1;
  }
  return out;
}

/**
 * The tool calls of one model turn: native `tool_calls` first; else tool calls written as JSON text (fenced,
 * bare, or in <tool_call> tags), as small models often do. Names are checked against the tools offered.
 */
export function parseToolCalls(
  content: string,
  native: readonly OllamaToolCall[],
  offered: readonly string[],
): ParsedTurn {
  const known = new Set(offered);
  const check = (calls: ParsedCall[], fromText: boolean): ParsedTurn => {
    const unknown = calls.find((c) => !known.has(c.name));
    if (unknown) {
      return {
        calls: [],
        fromText,
        problem: `unknown tool '${unknown.name}'; the tools are: ${offered.join(", ")}`,
      };
    }
    return { calls, fromText, problem: null };
  };
  if (native.length > 0) {
    const calls: ParsedCall[] = [];
    for (const n of native) {
      const c = toCall(n);
      if (typeof c === "string") return { calls: [], fromText: false, problem: c };
      calls.push(c);
    }
    return check(calls, false);
  }
  const calls: ParsedCall[] = [];
  let problem: string | null = null;
  let sawCallShape = false;
  for (const candidate of textCandidates(content)) {
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch (e: unknown) {
      if (/"name"\s*:/.test(candidate) || /<tool_call>/.test(content)) {
        problem = `your tool call is not valid JSON (${(e as Error).message})`;
        sawCallShape = true;
      }
      continue;
    }
    if (!looksLikeCall(value)) continue;
    sawCallShape = true;
    for (const item of Array.isArray(value) ? value : [value]) {
      const c = toCall(item);
      if (typeof c === "string") problem = c;
      else calls.push(c);
    }
  }
  if (calls.length > 0) return check(calls, true);
  if (sawCallShape && problem) return { calls: [], fromText: true, problem };
  return { calls: [], fromText: false, problem: null };
}
