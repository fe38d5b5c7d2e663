import type { Processor } from "../queue/processor.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { checkCommandOption, checkResult, runCheck, timeoutMs } from "./command-check.js";
import { parseTestSummary } from "./test-summary.js";

/** `batch_tests`: `<test_command> <module>`; passed iff exit 0; `tests` counts parsed from the summary. */
export function testsProcessor(sandbox: Sandbox): Processor {
  return {
    validateOptions: (options) => checkCommandOption(options, "test_command"),
    async processItem(item, ctx) {
      const command = String(ctx.job.options.test_command ?? "pytest -v");
      const check = await runCheck(
        sandbox,
        command,
        item.path as string,
        timeoutMs(item, ctx.job.options, 300),
        ctx.signal,
      );
      if (check.status === "passed" && check.run.exit_code !== 0) {
        check.status = "failed"; // pytest's "no tests" passes validation, not a test run
        check.error = `no tests ran (exit ${check.run.exit_code})`;
      }
      const tests = parseTestSummary(check.run.stdout, check.run.stderr);
      return checkResult(check, tests ? { tests } : {});
    },
  };
}
