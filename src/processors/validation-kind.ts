import { Type } from "typebox";
import type { JobKind } from "../queue/job-kind.js";
import { CommandResult, cacheOptions, PathItem, TimeoutOption } from "./kind-fields.js";

export const VALIDATION_DEFAULT_COMMAND = "pytest -q";

export const VALIDATION_KIND = {
  type: "batch_validation",
  item: PathItem,
  options: Type.Object({
    check_command: Type.String({ minLength: 1, default: VALIDATION_DEFAULT_COMMAND }),
    timeout_seconds: TimeoutOption(300),
    ...cacheOptions("the check command, the timeout, the target and the sha256 of its content"),
  }),
  result: CommandResult,
  successWord: "passed",
  submit: {
    path: "/batch/validation",
    cliName: "validation",
    summary: "Validate files or directories with a check command",
    title: "ValidationRequest",
    itemsField: "targets",
    itemsDescription: "Files or directories to check.",
    totalKey: "total_targets",
    chunkSize: 100,
    parallel: 5,
  },
} satisfies JobKind;
