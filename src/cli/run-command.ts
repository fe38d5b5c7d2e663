import { join } from "node:path";
import type { Command } from "commander";
import { type AgentEvent, runAgentTask, type TaskResult } from "../agent/agent-loop.js";
import { RUN_DEFAULTS, resolveRunConfig } from "../agent/run-config.js";
import { checkProjectRoot } from "../config/project-root.js";
import { resolveServerConfig, withEnv } from "../config/server-config.js";
import { ConfigError, errorMessage } from "../errors.js";
import { ollamaFromConfig, sandboxFromConfig } from "../processors/builtin.js";
import { isolationSettings, jobWorkspaces, runIsolated } from "../processors/task-isolation.js";
import { APPLY_MODES, ISOLATIONS } from "../workspace/isolation.js";
import { withSandboxOptions } from "./sandbox-options.js";

const oneLine = (s: string, n = 160): string => {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > n ? `${flat.slice(0, n)}…` : flat;
};

function printEvent(e: AgentEvent): void {
  switch (e.type) {
    case "model":
      console.log(
        `[${e.loop}] ${e.role} (${e.model})${e.calls.length ? ` → ${e.calls.join(", ")}` : ""}${e.content.trim() ? `: ${oneLine(e.content)}` : ""}`,
      );
      break;
    case "tool":
      console.log(
        `    ${e.ok ? "✓" : "✗"} ${e.name} ${oneLine(JSON.stringify(e.arguments), 100)} — ${oneLine(e.content, 120)}`,
      );
      break;
    case "malformed":
      console.log(`    ! unusable tool call: ${e.problem}`);
      break;
    case "check":
      console.log(
        `    check ${e.passed ? "passed" : "FAILED"} (exit ${e.exit_code})${e.passed ? "" : `: ${oneLine(e.output, 200)}`}`,
      );
      break;
    case "review":
      console.log(
        `    review: ${e.approved ? "approved" : "changes requested"} — ${oneLine(e.feedback, 200)}`,
      );
      break;
  }
}

/** `run "<task>"`: one agent task, no server, steps shown as they happen. Exit 0 on success, 1 on failure. */
export function addRunCommand(program: Command): void {
  withSandboxOptions(program.command("run"))
    .description("run one coding task through the coder/reviewer loop, without a server")
    .argument("<task>", "what the agent should do")
    .option("--project-root <dir>", "sandbox root (env OLLAMA_CODER_PROJECT_ROOT)")
    .option("--workspace <dir>", "subdirectory of the project root to work in")
    .option("--check-command <cmd>", "check run after each coder turn", RUN_DEFAULTS.check_command)
    .option("--coder-model <model>", "coder model", RUN_DEFAULTS.coder_model)
    .option(
      "--reviewer-model <model>",
      "reviewer model, or 'none' to skip review",
      RUN_DEFAULTS.reviewer_model,
    )
    .option("--max-loops <n>", "model calls at most", String(RUN_DEFAULTS.max_loops))
    .option("--timeout-seconds <s>", "time limit for the whole task")
    .option("--no-apply", "leave the files as they were (show the diff only); with --isolation: --apply none")
    .option(
      "--isolation <mode>",
      "shared (default: edit the project itself), worktree (a git worktree on a branch of its own) or copy",
      "shared",
    )
    .option("--apply-mode <mode>", "with --isolation: merge (default), patch or none")
    .option("--target-branch <name>", "with --isolation worktree: merge into this branch instead")
    .option(
      "--ollama-url <url>",
      "Ollama base URL(s), comma-separated (env OLLAMA_CODER_OLLAMA_URL, OLLAMA_HOST)",
    )
    .action(async (task: string, flags: Record<string, string | string[] | boolean | undefined>) => {
      const serverInput = withEnv({
        projectRoot: flags.projectRoot as string | undefined,
        ollamaUrl: flags.ollamaUrl as string | undefined,
        sandbox: flags.sandbox as string | undefined,
        limits: flags.limits as string | undefined,
        jailRead: flags.jailRead as string[] | undefined,
        workspacesDir: flags.workspacesDir as string | undefined,
      });
      checkProjectRoot(serverInput);
      const server = resolveServerConfig(serverInput);
      const isolation = String(flags.isolation);
      if (!(ISOLATIONS as readonly string[]).includes(isolation))
        throw new ConfigError(`--isolation must be ${ISOLATIONS.join(", ")}`);
      const applyMode = flags.apply === false ? "none" : String(flags.applyMode ?? "merge");
      if (!(APPLY_MODES as readonly string[]).includes(applyMode))
        throw new ConfigError(`--apply-mode must be ${APPLY_MODES.join(", ")}`);
      const reviewer = String(flags.reviewerModel);
      const config = resolveRunConfig({
        check_command: String(flags.checkCommand),
        coder_model: String(flags.coderModel),
        reviewer_model: reviewer === "none" || reviewer === "null" ? null : reviewer,
        max_loops: Number(flags.maxLoops),
        apply_changes: flags.apply !== false,
        ...(flags.timeoutSeconds ? { timeout_seconds: Number(flags.timeoutSeconds) } : {}),
        ...(flags.workspace ? { workspace: String(flags.workspace) } : {}),
      });
      const sandbox = sandboxFromConfig(server);
      const client = ollamaFromConfig(server);
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort(new Error("interrupted")));
      const signal = config.timeoutMs
        ? AbortSignal.any([controller.signal, AbortSignal.timeout(config.timeoutMs)])
        : controller.signal;
      console.log(`task: ${oneLine(task, 200)}`);
      console.log(`root: ${sandbox.root} (${sandbox.jailNote}); ollama: ${client.urls.join(", ")}`);
      try {
        await client.ensureModels(
          [config.coderModel, ...(config.reviewerModel ? [config.reviewerModel] : [])],
          signal,
        );
        const root = sandbox.workspace(config.workspace);
        let r: TaskResult;
        if (isolation === "shared") {
          r = await runAgentTask(task, config, {
            client,
            sandbox,
            workspace: root,
            signal,
            onEvent: printEvent,
          });
        } else {
          const settings = isolationSettings({
            isolation,
            apply: applyMode,
            ...(flags.targetBranch ? { target_branch: String(flags.targetBranch) } : {}),
          });
          const jobId = `run-${Date.now().toString(36)}`;
          const ws = await jobWorkspaces(root, server.workspacesDir, jobId, settings);
          try {
            const out = await runIsolated(ws, {
              sandbox,
              jobId,
              taskId: "task",
              description: task,
              settings,
              attempts: 1,
              temperature: config.modelOptions.temperature,
              signal,
              patchesDir: join(server.dataDir, "patches"),
              diffCapBytes: config.diffCapBytes,
              run: (own, workspace) =>
                runAgentTask(
                  task,
                  { ...config, applyChanges: true },
                  { client, sandbox: own, workspace, signal, onEvent: printEvent },
                ),
            });
            r = out.result;
            console.log(`branch: ${String(out.fields.branch)}; apply: ${JSON.stringify(out.fields.apply)}`);
          } finally {
            await ws.dispose();
          }
        }
        if (r.diff) console.log(`\n${r.diff}`);
        const tokens = Object.entries(r.usage)
          .map(([m, u]) => `${m}: ${u.prompt_tokens}+${u.completion_tokens} tokens, ${u.seconds}s`)
          .join("; ");
        console.log(
          `\n${r.status === "completed" ? "✓ completed" : "✗ failed"} in ${r.loops} loop(s); files changed: ${r.files_changed.join(", ") || "none"}${tokens ? `; ${tokens}` : ""}`,
        );
        if (r.error) console.log(`  ${r.error}`);
        process.exitCode = r.status === "completed" ? 0 : 1;
      } catch (e: unknown) {
        console.error(`ollama-coder run: ${errorMessage(signal.aborted ? (signal.reason ?? e) : e)}`);
        process.exitCode = 1;
      }
    });
}
