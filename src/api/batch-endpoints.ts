import type { TSchema } from "typebox";
import type { JsonObject } from "../domain/json.js";
import type { FieldIssue } from "../errors.js";
import { AgentTasksBody, McpOperationsBody, TestsBody, ValidationBody } from "./schemas.js";

/** One submit route of the contract: its job type, its items field and what it keeps of a request. */
export interface BatchEndpoint {
  path: string;
  type: string;
  summary: string;
  body: TSchema;
  itemsField: string;
  /** Submit-time metadata key holding the item count. */
  totalKey: string;
  /** Item fields kept as the item's payload (the rest of a resubmitted result is dropped). */
  itemFields: readonly string[];
  /** Request fields stored as the job's options. */
  optionFields: readonly string[];
  /** Checks a schema cannot say clearly; locations are relative to the item. */
  checkItem?: (item: JsonObject) => FieldIssue[];
}

const nonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim().length > 0;

function checkOperation(op: JsonObject): FieldIssue[] {
  const missing = (field: string, why: string): FieldIssue => ({ loc: [field], msg: why, type: "missing" });
  switch (op.type) {
    case "read":
    case "list":
      return nonEmptyString(op.path) ? [] : [missing("path", `Field required for a '${op.type}' operation`)];
    case "write": {
      const issues: FieldIssue[] = [];
      if (!nonEmptyString(op.path)) issues.push(missing("path", "Field required for a 'write' operation"));
      if (typeof op.content !== "string")
        issues.push(missing("content", "Field required for a 'write' operation (a string)"));
      return issues;
    }
    case "command":
      return nonEmptyString(op.command)
        ? []
        : [missing("command", "Field required for a 'command' operation")];
    default:
      return [];
  }
}

export const BATCH_ENDPOINTS: readonly BatchEndpoint[] = [
  {
    path: "/batch/agent-tasks",
    type: "batch_agent_tasks",
    summary: "Submit coding tasks for the coder/reviewer agent",
    body: AgentTasksBody,
    itemsField: "tasks",
    totalKey: "total_tasks",
    itemFields: ["id", "description"],
    optionFields: [
      "check_command",
      "max_loops",
      "coder_model",
      "reviewer_model",
      "apply_changes",
      "timeout_seconds",
      "workspace",
    ],
  },
  {
    path: "/batch/validation",
    type: "batch_validation",
    summary: "Validate files or directories with a check command",
    body: ValidationBody,
    itemsField: "targets",
    totalKey: "total_targets",
    itemFields: ["id", "path", "timeout_seconds"],
    optionFields: ["check_command", "timeout_seconds"],
  },
  {
    path: "/batch/tests",
    type: "batch_tests",
    summary: "Run test modules in parallel",
    body: TestsBody,
    itemsField: "modules",
    totalKey: "total_modules",
    itemFields: ["id", "path", "timeout_seconds"],
    optionFields: ["test_command", "timeout_seconds"],
  },
  {
    path: "/batch/mcp-operations",
    type: "batch_mcp",
    summary: "Bulk filesystem operations through MCP",
    body: McpOperationsBody,
    itemsField: "operations",
    totalKey: "total_operations",
    itemFields: ["id", "type", "path", "content", "command", "timeout_seconds"],
    optionFields: ["timeout_seconds"],
    checkItem: checkOperation,
  },
];

export function pick(source: JsonObject, fields: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const f of fields) if (source[f] !== undefined) out[f] = source[f];
  return out;
}
