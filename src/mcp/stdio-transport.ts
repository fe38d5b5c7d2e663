import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { errorMessage } from "../errors.js";

/** The largest message read (a 10 MiB write_file, JSON-escaped, fits); a longer line is refused, not fatal. */
export const MCP_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

type Id = string | number | null;
const idOf = (v: unknown): Id => {
  const id = typeof v === "object" && v !== null ? (v as { id?: unknown }).id : null;
  return typeof id === "string" || typeof id === "number" ? id : null;
};

/**
 * MCP over stdio, one JSON-RPC message a line, like the SDK's StdioServerTransport except that a bad line is
 * answered instead of ending the server: a line over `maxBytes` is skipped without being held in memory
 * (-32600), a line that is not JSON gets -32700 and one that is not a JSON-RPC message -32600, and the next
 * line is read as usual.
 */
export class BoundedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private chunks: Buffer[] = [];
  private size = 0;
  private oversized = false;

  constructor(
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly maxBytes = MCP_MAX_MESSAGE_BYTES,
  ) {}

  async start(): Promise<void> {
    this.stdin.on("data", this.onData);
    this.stdin.on("error", this.onError);
  }

  private readonly onError = (e: Error) => this.onerror?.(e);

  private readonly onData = (chunk: Buffer | string) => {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (;;) {
      const newline = data.indexOf(10, start);
      const part = data.subarray(start, newline === -1 ? data.length : newline);
      if (!this.oversized && this.size + part.length > this.maxBytes) {
        this.oversized = true;
        this.chunks = [];
        this.size = 0;
      }
      if (!this.oversized && part.length > 0) {
        this.chunks.push(part);
        this.size += part.length;
      }
      if (newline === -1) return;
      this.endOfLine();
      start = newline + 1;
    }
  };

  private endOfLine(): void {
    if (this.oversized) {
      this.oversized = false;
      this.answerError(null, INVALID_REQUEST, `Message larger than ${this.maxBytes} bytes; refused`);
      return;
    }
    const line = Buffer.concat(this.chunks).toString("utf8").replace(/\r$/, "");
    this.chunks = [];
    this.size = 0;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e: unknown) {
      this.answerError(null, PARSE_ERROR, `Parse error: ${errorMessage(e)}`);
      return;
    }
    const message = JSONRPCMessageSchema.safeParse(value);
    if (!message.success) {
      this.answerError(idOf(value), INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message");
      return;
    }
    this.onmessage?.(message.data);
  }

  private answerError(id: Id, code: number, message: string): void {
    this.write(`${JSON.stringify({ jsonrpc: "2.0", id, error: { code, message } })}\n`).catch(
      () => undefined,
    );
  }

  private write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(text)) resolve();
      else this.stdout.once("drain", resolve);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return this.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    this.stdin.off("data", this.onData);
    this.stdin.off("error", this.onError);
    this.chunks = [];
    this.onclose?.();
  }
}
