import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { RUN_DEFAULTS } from "../agent/run-config.js";
import { SERVER_DEFAULTS, withEnv } from "../config/server-config.js";
import { ConfigError } from "../errors.js";
import { run, wholeNumber } from "./client-context.js";
import { withSandboxOptions } from "./sandbox-options.js";

/** The tasks that ship with the package (eval/tasks beside dist/ and src/). */
const SHIPPED_TASKS = fileURLToPath(new URL("../../eval/tasks", import.meta.url));

/** `eval`: the shipped benchmark through the agent and the single-shot baseline; `eval compare A B`. */
export function addEvalCommand(program: Command): void {
  const evalCommand = withSandboxOptions(program.command("eval"))
    .description(
      "run the benchmark tasks as one agent job on an in-process server, grade them with their hidden tests, and write eval-results/<timestamp>/",
    )
    .option("--tasks <glob>", "which tasks, by directory name", "*")
    .option("--tasks-dir <dir>", "where the tasks are", SHIPPED_TASKS)
    .option("--coder-model <model>", "coder model", RUN_DEFAULTS.coder_model)
    .option("--reviewer-model <model>", "reviewer model, or 'none'", RUN_DEFAULTS.reviewer_model)
    .option("--max-loops <n>", "model calls per task at most", wholeNumber(1), RUN_DEFAULTS.max_loops)
    .option("--repeat <k>", "attempts per task (pass@k)", wholeNumber(1), 1)
    .option("--baseline <name>", "single-shot (one model call returning whole files) or none", "single-shot")
    .option(
      "--ollama-url <url>",
      "Ollama base URL(s), comma-separated (env OLLAMA_CODER_OLLAMA_URL, OLLAMA_HOST)",
    )
    .option("--results-dir <dir>", "where the run's directory is written", "eval-results")
    .option("--timeout-seconds <s>", "time limit of one task attempt", wholeNumber(1), 900)
    .option("--grade-timeout-seconds <s>", "time limit of one hidden-test run", wholeNumber(1), 120)
    .option("--parallel <n>", "task attempts run at once", wholeNumber(1), 2)
    .action(async (flags: Record<string, unknown>) =>
      run(async () => {
        const baseline = String(flags.baseline);
        if (baseline !== "single-shot" && baseline !== "none")
          throw new ConfigError("--baseline must be single-shot or none");
        const reviewer = String(flags.reviewerModel);
        const env = withEnv({
          ollamaUrl: flags.ollamaUrl as string | undefined,
          sandbox: flags.sandbox as string | undefined,
          limits: flags.limits as string | undefined,
          jailRead: flags.jailRead as string[] | undefined,
          workspacesDir: flags.workspacesDir as string | undefined,
        });
        // Loaded when the command runs: every other command starts without the harness.
        const { runEval } = await import("../eval/run-eval.js");
        const { dir, records } = await runEval({
          tasksDir: String(flags.tasksDir),
          tasks: String(flags.tasks),
          coderModel: String(flags.coderModel),
          reviewerModel: reviewer === "none" ? null : reviewer,
          maxLoops: flags.maxLoops as number,
          repeat: flags.repeat as number,
          baseline: baseline === "none" ? null : "single-shot",
          ollamaUrl: env.ollamaUrl ?? SERVER_DEFAULTS.ollamaUrl,
          resultsDir: String(flags.resultsDir),
          jail: {
            sandbox: env.sandbox,
            limits: env.limits,
            jailRead: env.jailRead,
            workspacesDir: env.workspacesDir,
          },
          timeoutSeconds: flags.timeoutSeconds as number,
          gradeTimeoutSeconds: flags.gradeTimeoutSeconds as number,
          parallel: flags.parallel as number,
          onAttempt: (r) =>
            console.error(`${r.passed ? "✓" : "✗"} ${r.mode} ${r.task} #${r.attempt}: ${r.verdict}`),
        });
        const passed = (mode: string) => {
          const rs = records.filter((r) => r.mode === mode);
          return `${rs.filter((r) => r.passed).length}/${rs.length}`;
        };
        console.log(
          `agent passed ${passed("agent")}${baseline === "none" ? "" : `, single-shot ${passed("single-shot")}`}; results in ${dir}`,
        );
        return 0;
      }),
    );
  evalCommand
    .command("compare")
    .description("two eval runs side by side, with the tasks that changed outcome")
    .argument("<a>", "a run's directory (eval-results/<timestamp>)")
    .argument("<b>", "another run's directory")
    .action(async (a: string, b: string) =>
      run(async () => {
        const { readResults } = await import("../eval/results.js");
        const { renderComparison } = await import("../eval/compare.js");
        const left = { label: a, ...readResults(a) };
        const right = { label: b, ...readResults(b) };
        process.stdout.write(renderComparison(left, right));
        return 0;
      }),
    );
}
