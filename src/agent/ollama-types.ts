/** The parts of Ollama's /api/chat protocol the agent uses. */
export interface OllamaToolCall {
  function: { name: string; arguments: Record<string, unknown> };
}

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  tool_calls?: OllamaToolCall[];
  /** For role "tool": which tool answered. */
  tool_name?: string;
}

export interface ToolSpec {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatOptions {
  num_ctx?: number;
  temperature?: number;
  [key: string]: unknown;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  options?: ChatOptions;
  keep_alive?: string | number;
  /** Stream NDJSON chunks (default true). */
  stream?: boolean;
}

export interface ChatResult {
  model: string;
  message: { role: "assistant"; content: string; tool_calls: OllamaToolCall[] };
  prompt_eval_count: number;
  eval_count: number;
  /** Ollama's own total_duration, converted from nanoseconds. */
  total_duration_seconds: number;
  /** Wall time of the request here, retries included. */
  wall_seconds: number;
  host: string;
}
