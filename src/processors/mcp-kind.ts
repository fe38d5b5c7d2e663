import { Type } from "typebox";
import type { JsonObject } from "../domain/json.js";
import type { FieldIssue } from "../errors.js";
import type { JobKind } from "../queue/job-kind.js";
import { DEFAULT_COMMAND_TIMEOUT_SECONDS } from "../sandbox/run-command.js";
import { cacheOptions, ItemDependencyFields, ItemId, TimeoutOption, TimeoutSeconds } from "./kind-fields.js";

const OperationItem = Type.Object(
  {
    id: ItemId,
    ...ItemDependencyFields,
    type: Type.Union(
      [Type.Literal("read"), Type.Literal("write"), Type.Literal("list"), Type.Literal("command")],
      { description: "read | write | list | command" },
    ),
    path: Type.Optional(Type.String({ maxLength: 4096 })),
    content: Type.Optional(Type.String()),
    command: Type.Optional(Type.String({ maxLength: 65_536 })),
    timeout_seconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: true, title: "McpOperation" },
);

const nonEmptyString = (v: unknown): v is string => typeof v === "string" && v.trim().length > 0;

/** The fields each operation type needs, which the schema cannot say clearly. */
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

export const MCP_KIND = {
  type: "batch_mcp",
  item: OperationItem,
  options: Type.Object({
    timeout_seconds: TimeoutOption(DEFAULT_COMMAND_TIMEOUT_SECONDS),
    ...cacheOptions(
      "read operations only: the path and the sha256 of the file's content; list operations always run; a job with write or command operations cannot use it",
    ),
  }),
  successWord: "success",
  result: Type.Object(
    { result: Type.Object({}, { additionalProperties: true, description: "What the operation returned." }) },
    { additionalProperties: true },
  ),
  checkItem: checkOperation,
  submit: {
    path: "/batch/mcp-operations",
    cliName: "mcp-operations",
    summary: "Bulk filesystem operations through MCP",
    title: "McpOperationsRequest",
    itemsField: "operations",
    itemsDescription: "Filesystem operations.",
    totalKey: "total_operations",
    chunkSize: 100,
    parallel: 5,
  },
} satisfies JobKind;
