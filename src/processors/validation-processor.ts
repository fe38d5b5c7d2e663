import type { Processor } from "../queue/processor.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { checkResult, commandCheckProcessor } from "./command-check.js";
import { VALIDATION_DEFAULT_COMMAND } from "./validation-kind.js";

/** `batch_validation`: `<check_command> <path>` per target; exit 0 (or pytest's 5, no tests) passes. */
export function validationProcessor(sandbox: Sandbox): Processor {
  return commandCheckProcessor(sandbox, {
    option: "check_command",
    defaultCommand: VALIDATION_DEFAULT_COMMAND,
    finish: (check) => checkResult(check),
  });
}
