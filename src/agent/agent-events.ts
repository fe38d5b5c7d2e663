/** What happens, as it happens (the CLI prints these). */
export type AgentEvent =
  | {
      type: "model";
      role: "coder" | "reviewer";
      loop: number;
      model: string;
      content: string;
      calls: string[];
    }
  | { type: "tool"; name: string; arguments: Record<string, unknown>; ok: boolean; content: string }
  | { type: "malformed"; problem: string }
  | { type: "check"; passed: boolean; exit_code: number | null; output: string }
  | { type: "review"; approved: boolean; feedback: string };
