import { createTwoFilesPatch } from "diff";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { ToolSpec } from "./ollama-types.js";
import type { ParsedCall } from "./tool-call-parser.js";
import { callTool, TOOL_TABLE, type ToolContext } from "./tool-table.js";

const CODER_TOOLS = TOOL_TABLE.filter((t) => t.coder !== undefined);

/** The coder's tools, described for Ollama's `tools` field: the table's coder faces. */
export const CODER_TOOL_SPECS: ToolSpec[] = CODER_TOOLS.map((t) => ({
  type: "function",
  function: { name: t.name, description: t.coder!.description, parameters: { ...t.coder!.parameters } },
}));

export const CODER_TOOL_NAMES = CODER_TOOLS.map((t) => t.name);

export interface FileChange {
  rel: string;
  /** null: the task created the file. */
  before: string | null;
  /** null: the file is gone now. */
  after: string | null;
}

export interface ToolOutcome {
  content: string;
  ok: boolean;
}

/**
 * The coder's tools for one task, over the sandbox and guardrail, in the task's workspace. Blocked calls come
 * back as tool results that say why. Remembers each file's content before the task's first write, for the
 * diff and for `apply_changes: false`.
 */
export class AgentTools {
  private readonly originals = new Map<string, string | null>();

  private readonly context: ToolContext;

  constructor(
    private readonly sandbox: Sandbox,
    workspace: string,
    commandTimeoutMs: number,
    signal: AbortSignal,
  ) {
    this.context = { sandbox, base: workspace, timeoutMs: commandTimeoutMs, signal, onWrite: this.remember };
  }

  async execute(call: ParsedCall): Promise<ToolOutcome> {
    const tool = CODER_TOOLS.find((t) => t.name === call.name);
    if (!tool?.coder) return { ok: false, content: `unknown tool '${call.name}'` };
    const args = tool.coder.read(call.arguments);
    if (typeof args === "string") return { ok: false, content: args };
    const answer = await callTool(tool, tool.coder, args, this.context);
    return { ok: !answer.isError, content: answer.text };
  }

  /** Before a write: the file's content unless already known; kept once the write succeeded. */
  private readonly remember = (path: string): (() => void) => {
    const rel = this.sandbox.paths.relative(this.sandbox.paths.resolve(path, this.context.base));
    if (this.originals.has(rel)) return () => undefined;
    const before = this.readOrNull(rel);
    return () => this.originals.set(rel, before); // only files written are tracked (and reverted)
  };

  /** Files this task wrote and left different, each read once: relative path, content before and now. */
  changes(): FileChange[] {
    const out: FileChange[] = [];
    for (const [rel, before] of this.originals) {
      const after = this.readOrNull(rel);
      if (after !== before) out.push({ rel, before, after });
    }
    return out;
  }

  /** Unified diff of `changes`, capped at `capBytes`. */
  static diff(changes: readonly FileChange[], capBytes: number): string {
    let out = "";
    for (const { rel, before, after } of changes) {
      const from = before === null ? "/dev/null" : `a/${rel}`;
      out += createTwoFilesPatch(from, `b/${rel}`, before ?? "", after ?? "", undefined, undefined, {
        context: 3,
      }).replace(/^=+\n/, "");
    }
    return capDiff(out, capBytes);
  }

  /** Puts every file this task wrote back as it was (apply_changes: false). */
  async revert(): Promise<void> {
    for (const [rel, before] of this.originals) {
      if (before === null) this.sandbox.files.remove(rel);
      else await this.sandbox.files.write(rel, before);
    }
  }

  /**
   * A file's content (path relative to the root), read beneath the root like every file operation; null when it
   * cannot be read.
   */
  private readOrNull(rel: string): string | null {
    try {
      return this.sandbox.files.readSync(rel).content;
    } catch {
      return null;
    }
  }
}

/** A diff as a result keeps it: whole up to capBytes, else its head and how long it was. */
export function capDiff(diff: string, capBytes: number): string {
  if (Buffer.byteLength(diff) <= capBytes) return diff;
  return `${diff.slice(0, capBytes)}\n… [diff truncated: ${Buffer.byteLength(diff)} bytes in all]\n`;
}
