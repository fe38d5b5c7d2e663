import type { Processor } from "../queue/processor.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { checkCommandOption, checkResult, runCheck, timeoutMs } from "./command-check.js";

/** `batch_validation`: `<check_command> <path>` per target; exit 0 (or pytest's 5, no tests) passes. */
export function validationProcessor(sandbox: Sandbox): Processor {
  return {
    validateOptions: (options) => checkCommandOption(options, "check_command"),
    async processItem(item, ctx) {
      const command = String(ctx.job.options.check_command ?? "pytest -q");
      const check = await runCheck(
        sandbox,
        command,
        item.path as string,
        timeoutMs(item, ctx.job.options, 300),
        ctx.signal,
      );
      return checkResult(check);
    },
  };
}
