import { createTwoFilesPatch } from "diff";
import { errorMessage } from "../errors.js";
import { describeRun } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { ToolSpec } from "./ollama-types.js";
import type { ParsedCall } from "./tool-call-parser.js";

const obj = (properties: Record<string, unknown>, required: string[]) => ({
  type: "object",
  properties,
  required,
});

/** The coder's tools, described for Ollama's `tools` field. */
export const CODER_TOOL_SPECS: ToolSpec[] = [
  {
    type: "function",
    function: {
      name: "read_file",
      description: "Read a text file of the workspace.",
      parameters: obj({ path: { type: "string", description: "Path relative to the workspace" } }, ["path"]),
    },
  },
  {
    type: "function",
    function: {
      name: "write_file",
      description: "Create or overwrite a text file of the workspace with the whole new content.",
      parameters: obj(
        { path: { type: "string" }, content: { type: "string", description: "The full file content" } },
        ["path", "content"],
      ),
    },
  },
  {
    type: "function",
    function: {
      name: "list_files",
      description: "List a directory of the workspace.",
      parameters: obj({ path: { type: "string", description: "Directory; '.' for the workspace" } }, []),
    },
  },
  {
    type: "function",
    function: {
      name: "run_command",
      description:
        "Run one program in the workspace without a shell (no pipes or redirections), e.g. 'python hello.py'.",
      parameters: obj({ command: { type: "string" } }, ["command"]),
    },
  },
];

export const CODER_TOOL_NAMES = CODER_TOOL_SPECS.map((t) => t.function.name);

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

  constructor(
    private readonly sandbox: Sandbox,
    private readonly workspace: string,
    private readonly commandTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  async execute(call: ParsedCall): Promise<ToolOutcome> {
    const a = call.arguments;
    const str = (k: string) => (typeof a[k] === "string" ? (a[k] as string) : undefined);
    try {
      switch (call.name) {
        case "read_file": {
          const path = str("path");
          if (!path) return { ok: false, content: "read_file needs a 'path'" };
          return { ok: true, content: (await this.sandbox.files.read(path, this.workspace)).content };
        }
        case "write_file": {
          const path = str("path");
          const content = str("content");
          if (!path || content === undefined)
            return { ok: false, content: "write_file needs 'path' and 'content' (strings)" };
          const rel = this.sandbox.paths.relative(this.sandbox.paths.resolve(path, this.workspace));
          const first = !this.originals.has(rel);
          const before = first ? this.readOrNull(rel) : null;
          const r = await this.sandbox.files.write(path, content, this.workspace);
          if (first) this.originals.set(rel, before); // only files written are tracked (and reverted)
          return { ok: true, content: `wrote ${r.bytes} bytes to ${path}` };
        }
        case "list_files": {
          const r = await this.sandbox.files.list(str("path") ?? ".", this.workspace);
          const lines = r.entries.map((e) => (e.kind === "directory" ? `${e.name}/` : e.name));
          return { ok: true, content: lines.join("\n") || "(empty directory)" };
        }
        case "run_command": {
          const command = str("command");
          if (!command) return { ok: false, content: "run_command needs a 'command'" };
          const run = await this.sandbox.run({
            command,
            cwd: this.workspace,
            timeoutMs: this.commandTimeoutMs,
            signal: this.signal,
          });
          if (run.spawn_error) return { ok: false, content: run.spawn_error };
          return { ok: run.exit_code === 0, content: describeRun(run) };
        }
        default:
          return { ok: false, content: `unknown tool '${call.name}'` };
      }
    } catch (e: unknown) {
      if (this.signal.aborted) throw e;
      return { ok: false, content: errorMessage(e) };
    }
  }

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
    if (Buffer.byteLength(out) <= capBytes) return out;
    return `${out.slice(0, capBytes)}\n… [diff truncated: ${Buffer.byteLength(out)} bytes in all]\n`;
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
