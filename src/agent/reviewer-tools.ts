import type { ToolSpec } from "./ollama-types.js";

/** The reviewer's verdicts, described for Ollama's `tools` field. */
export const REVIEWER_TOOLS: ToolSpec[] = [
  {
    type: "function",
    function: {
      name: "approve",
      description: "Approve the change.",
      parameters: { type: "object", properties: { summary: { type: "string" } }, required: [] },
    },
  },
  {
    type: "function",
    function: {
      name: "request_changes",
      description: "Send the change back with instructions.",
      parameters: { type: "object", properties: { feedback: { type: "string" } }, required: ["feedback"] },
    },
  },
];

export const REVIEWER_TOOL_NAMES = REVIEWER_TOOLS.map((t) => t.function.name);
