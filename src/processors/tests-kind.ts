import { Type } from "typebox";
import type { JobKind } from "../queue/job-kind.js";
import { CommandResult, cacheOptions, PathItem, TimeoutOption } from "./kind-fields.js";

export const TESTS_DEFAULT_COMMAND = "pytest -v";

export const TESTS_KIND = {
  type: "batch_tests",
  item: PathItem,
  options: Type.Object({
    test_command: Type.String({ minLength: 1, default: TESTS_DEFAULT_COMMAND }),
    timeout_seconds: TimeoutOption(300),
    ...cacheOptions(
      "the test command, the timeout, the module and the sha256 of its content; not the files it imports",
    ),
  }),
  successWord: "passed",
  result: Type.Object(
    {
      ...CommandResult.properties,
      tests: Type.Optional(
        Type.Object({}, { additionalProperties: true, description: "Counts parsed from the summary." }),
      ),
    },
    { additionalProperties: true },
  ),
  submit: {
    path: "/batch/tests",
    cliName: "tests",
    summary: "Run test modules in parallel",
    title: "TestsRequest",
    itemsField: "modules",
    itemsDescription: "Test modules to run.",
    totalKey: "total_modules",
    chunkSize: 100,
    parallel: 5,
  },
} satisfies JobKind;
