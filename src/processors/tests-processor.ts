import type { Processor } from "../queue/processor.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { checkResult, commandCheckProcessor } from "./command-check.js";
import { parseTestSummary } from "./test-summary.js";
import { TESTS_DEFAULT_COMMAND } from "./tests-kind.js";

/** `batch_tests`: `<test_command> <module>`; passed iff exit 0; `tests` counts parsed from the summary. */
export function testsProcessor(sandbox: Sandbox): Processor {
  return commandCheckProcessor(sandbox, {
    option: "test_command",
    defaultCommand: TESTS_DEFAULT_COMMAND,
    finish(check) {
      if (check.status === "passed" && check.run.exit_code !== 0) {
        check.status = "failed"; // pytest's "no tests" passes validation, not a test run
        check.failure = "check";
        check.error = `no tests ran (exit ${check.run.exit_code})`;
      }
      const tests = parseTestSummary(check.run.stdout, check.run.stderr);
      return checkResult(check, tests ? { tests } : {});
    },
  });
}
