import type { OllamaClient } from "./ollama-client.js";
import type { ChatMessage, ChatResult, ToolSpec } from "./ollama-types.js";
import type { RunConfig } from "./run-config.js";
import type { ModelUsage } from "./task-result.js";

/** A task's model calls: each one counts as a loop and adds to its model's usage. */
export class ModelCalls {
  loops = 0;

  constructor(
    private readonly client: OllamaClient,
    private readonly config: RunConfig,
    private readonly signal: AbortSignal,
    /** Usage by model, added to as calls answer (the caller's record, when it gives one). */
    readonly usage: Record<string, ModelUsage> = {},
  ) {}

  async chat(model: string, messages: ChatMessage[], tools: ToolSpec[]): Promise<ChatResult> {
    this.loops++;
    const { modelOptions, keepAlive } = this.config;
    const r = await this.client.chat(
      {
        model,
        messages,
        tools,
        options: modelOptions,
        ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
      },
      this.signal,
    );
    this.usage[model] ??= { calls: 0, prompt_tokens: 0, completion_tokens: 0, seconds: 0 };
    const u = this.usage[model];
    u.calls++;
    u.prompt_tokens += r.prompt_eval_count;
    u.completion_tokens += r.eval_count;
    u.seconds = Math.round((u.seconds + (r.total_duration_seconds || r.wall_seconds)) * 1000) / 1000;
    return r;
  }
}
