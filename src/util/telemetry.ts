/** What an Ollama /api/chat call reports, for metrics (the agent tells, the API's metrics listen). */
export interface ModelCallObservation {
  model: string;
  host: string;
  seconds: number;
  promptTokens: number;
  completionTokens: number;
  outcome: "ok" | "error";
}
