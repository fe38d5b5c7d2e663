import { errorMessage } from "../errors.js";
import { describeRun, type RunResult } from "../sandbox/run-command.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { DirEntry } from "../sandbox/sandbox-files.js";

/** A tool's parameters as JSON Schema: what Ollama's `tools` field and MCP's `tools/list` carry. */
export interface ParameterSchema {
  type: "object";
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
}

/** What a tool call comes to: the text the caller reads, whether it failed, and the structured result. */
export interface ToolAnswer {
  text: string;
  isError: boolean;
  structured?: Record<string, unknown>;
}

/** Where a call runs: the sandbox, the directory paths are relative to, and the command time limit. */
export interface ToolContext {
  sandbox: Sandbox;
  /** Paths are relative to it and commands run in it; the project root when absent. */
  base?: string;
  /** For commands whose call names no `timeout_seconds`. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Called with a path just before a file is written there; what it returns is called once the write succeeded
   * (the agent remembers each file's content before its first write).
   */
  onWrite?: (path: string) => () => void;
}

type Args = Record<string, unknown>;

/**
 * How one surface (the agent's coder, MCP clients) offers a tool: its description, its parameters (which the
 * arguments `A` meet) and how a result reads.
 */
export interface ToolFace<A, R> {
  description: string;
  parameters: ParameterSchema;
  answer(result: R, args: A): ToolAnswer;
}

/** The agent's coder face also reads its model's loose arguments: the arguments, or what is missing. */
export interface CoderFace<A, R> extends ToolFace<A, R> {
  read(args: Args): A | string;
}

export interface ToolDefinition<A = Args, R = unknown> {
  name: string;
  /** The sandbox operation, with arguments already checked against the face's parameters. */
  run(args: A, ctx: ToolContext): Promise<R>;
  /** Offered to the agent's coder when present. */
  coder?: CoderFace<A, R>;
  /** Offered by the MCP server when present. */
  mcp?: ToolFace<A, R>;
}

const object = (properties: ParameterSchema["properties"], required?: string[]): ParameterSchema => ({
  type: "object",
  properties,
  ...(required ? { required } : {}),
});
const text = (description?: string) => ({ type: "string", ...(description ? { description } : {}) });
const str = (a: Args, k: string): string | undefined =>
  typeof a[k] === "string" ? (a[k] as string) : undefined;
const answer = (t: string, structured?: Record<string, unknown>): ToolAnswer => ({
  text: t,
  isError: false,
  ...(structured ? { structured } : {}),
});
const failure = (t: string): ToolAnswer => ({ text: t, isError: true });

const MCP_PATH = text("Path relative to the project root (absolute paths must be inside it)");

const readFile: ToolDefinition<{ path: string }, { path: string; content: string; bytes: number }> = {
  name: "read_file",
  run: (a, ctx) => ctx.sandbox.files.read(a.path, ctx.base),
  coder: {
    description: "Read a text file of the workspace.",
    parameters: object({ path: text("Path relative to the workspace") }, ["path"]),
    read: (a) => {
      const path = str(a, "path");
      return path ? { path } : "read_file needs a 'path'";
    },
    answer: (r) => answer(r.content),
  },
  mcp: {
    description: "Read a UTF-8 text file inside the project root.",
    parameters: object({ path: MCP_PATH }, ["path"]),
    answer: (r) => answer(r.content, r),
  },
};

type Written = { path: string; bytes: number; created: boolean };

const writeFile: ToolDefinition<{ path: string; content: string }, Written> = {
  name: "write_file",
  run: async (a, ctx) => {
    const written = ctx.onWrite?.(a.path);
    const r = await ctx.sandbox.files.write(a.path, a.content, ctx.base);
    written?.();
    return r;
  },
  coder: {
    description: "Create or overwrite a text file of the workspace with the whole new content.",
    parameters: object({ path: text(), content: text("The full file content") }, ["path", "content"]),
    read: (a) => {
      const [path, content] = [str(a, "path"), str(a, "content")];
      return path && content !== undefined
        ? { path, content }
        : "write_file needs 'path' and 'content' (strings)";
    },
    answer: (r, a) => answer(`wrote ${r.bytes} bytes to ${a.path}`),
  },
  mcp: {
    description: "Write a UTF-8 text file inside the project root (atomic; creates parent directories).",
    parameters: object({ path: MCP_PATH, content: text("The whole new content") }, ["path", "content"]),
    answer: (r) => answer(`wrote ${r.bytes} bytes to ${r.path}`, r),
  },
};

type Listing = { path: string; entries: DirEntry[]; truncated: boolean };
const mcpKind = (e: DirEntry) => (e.kind === "directory" ? "[dir] " : e.kind === "symlink" ? "[link] " : "");

const mcpListing: ToolFace<{ path?: string }, Listing> = {
  description: "List a directory inside the project root: each entry with its kind and size.",
  parameters: object({ path: { ...MCP_PATH, default: "." } }),
  answer: (r) => {
    const lines = r.entries.map((e) => `${mcpKind(e)}${e.name}`);
    if (r.truncated) lines.push("… (more entries not shown)");
    return answer(lines.join("\n") || "(empty directory)", r);
  },
};

const listFiles: ToolDefinition<{ path?: string }, Listing> = {
  name: "list_files",
  run: (a, ctx) => ctx.sandbox.files.list(a.path ?? ".", ctx.base),
  coder: {
    description: "List a directory of the workspace.",
    parameters: object({ path: text("Directory; '.' for the workspace") }, []),
    read: (a) => ({ path: str(a, "path") ?? "." }),
    answer: (r) =>
      answer(
        r.entries.map((e) => (e.kind === "directory" ? `${e.name}/` : e.name)).join("\n") ||
          "(empty directory)",
      ),
  },
  mcp: mcpListing,
};

const listDirectory: ToolDefinition<{ path?: string }, Listing> = {
  name: "list_directory",
  run: listFiles.run,
  mcp: { ...mcpListing, description: `${mcpListing.description} (alias of list_files)` },
};

type CommandArgs = { command: string; timeout_seconds?: number; cwd?: string };

const runCommand: ToolDefinition<CommandArgs, RunResult> = {
  name: "run_command",
  run: (a, ctx) =>
    ctx.sandbox.run({
      command: a.command,
      cwd: a.cwd ?? ctx.base,
      timeoutMs: a.timeout_seconds !== undefined ? a.timeout_seconds * 1000 : ctx.timeoutMs,
      signal: ctx.signal,
    }),
  coder: {
    description:
      "Run one program in the workspace without a shell (no pipes or redirections), e.g. 'python hello.py'.",
    parameters: object({ command: text() }, ["command"]),
    read: (a) => {
      const command = str(a, "command");
      return command ? { command } : "run_command needs a 'command'";
    },
    answer: (run) =>
      run.spawn_error ? failure(run.spawn_error) : { text: describeRun(run), isError: run.exit_code !== 0 },
  },
  mcp: {
    description:
      "Run one program in the project root, without a shell (no pipes, ';' or redirections), with a time limit. " +
      "Destructive commands are refused.",
    parameters: object(
      {
        command: text("e.g. 'pytest -q tests/test_app.py'"),
        timeout_seconds: { type: "number", exclusiveMinimum: 0, maximum: 86_400 },
        cwd: text("Directory inside the project root"),
      },
      ["command"],
    ),
    answer: (run) =>
      run.spawn_error
        ? failure(run.spawn_error)
        : { ...answer(describeRun(run), { ...run }), isError: run.timed_out },
  },
};

type RootInfo = { root: string; jailed: boolean; read_only: boolean };

const sandboxRoot: ToolDefinition<Args, RootInfo> = {
  name: "sandbox_root",
  run: async (_a, ctx) => ({
    root: ctx.sandbox.root,
    jailed: ctx.sandbox.jailed,
    read_only: ctx.sandbox.guardrail.options.readOnly,
  }),
  mcp: {
    description: "The project root every path is relative to, and whether commands are jailed.",
    parameters: object({}),
    answer: (r) => answer(r.root, r),
  },
};

/**
 * Every tool over the sandbox, each defined once: its name, its sandbox operation and the face each surface
 * offers (the agent's coder works in a workspace and has always been told, and answered, a little differently
 * from MCP clients at the project root). The agent's Ollama tool specs and the MCP server's tools come from here.
 */
export const TOOL_TABLE: readonly ToolDefinition[] = [
  readFile,
  writeFile,
  listFiles,
  listDirectory,
  runCommand,
  sandboxRoot,
];

/**
 * Runs one call of `tool` as `face` offers it: the answer, or a failure whose text says why (a refusal, a missing
 * file). A call whose signal was aborted throws instead.
 */
export async function callTool<A, R>(
  tool: ToolDefinition<A, R>,
  face: ToolFace<A, R>,
  args: A,
  ctx: ToolContext,
): Promise<ToolAnswer> {
  try {
    return face.answer(await tool.run(args, ctx), args);
  } catch (e: unknown) {
    if (ctx.signal?.aborted) throw e;
    return failure(errorMessage(e));
  }
}
