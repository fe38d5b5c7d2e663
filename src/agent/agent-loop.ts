import { parseCommandLine } from "../sandbox/command-line.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import type { AgentEvent } from "./agent-events.js";
import { AgentTools, CODER_TOOL_NAMES, CODER_TOOL_SPECS } from "./agent-tools.js";
import { runCheckCommand } from "./check-command.js";
import { ModelCalls } from "./model-calls.js";
import type { OllamaClient } from "./ollama-client.js";
import type { ChatMessage } from "./ollama-types.js";
import {
  checkFailedMessage,
  coderSystemPrompt,
  malformedCallMessage,
  REVIEWER_SYSTEM_PROMPT,
  reviewRequest,
} from "./prompts.js";
import { REVIEWER_TOOL_NAMES, REVIEWER_TOOLS } from "./reviewer-tools.js";
import type { RunConfig } from "./run-config.js";
import type { CheckOutcome, ModelUsage, TaskResult } from "./task-result.js";
import { parseToolCalls } from "./tool-call-parser.js";
import { cap, capTranscript, type TranscriptEntry } from "./transcript.js";

export type { AgentEvent } from "./agent-events.js";
export type { CheckOutcome, ModelUsage, TaskResult } from "./task-result.js";
export type { TranscriptEntry } from "./transcript.js";

export interface AgentDeps {
  client: OllamaClient;
  sandbox: Sandbox;
  /** Absolute workspace directory inside the sandbox root. */
  workspace: string;
  signal: AbortSignal;
  onEvent?: (e: AgentEvent) => void;
  /**
   * Where the task's model usage is added up (the result's `usage`): the caller's own record, so what a task
   * that was cut off (timed out, stopped for another try) had used is still known.
   */
  usage?: Record<string, ModelUsage>;
}

/**
 * One task through the coder/reviewer loop: coder turns run tools until a turn has none; then the check
 * command runs; a failure goes back to the coder, a pass to the reviewer (approve or request_changes). Every
 * model call counts toward max_loops. Succeeds when the check passes and the reviewer approves.
 */
class AgentLoop {
  private readonly tools: AgentTools;
  private readonly models: ModelCalls;
  private readonly emit: (e: AgentEvent) => void;
  private readonly transcript: TranscriptEntry[];
  private readonly messages: ChatMessage[];
  private check: CheckOutcome | null = null;
  private approved = false;
  private review: string | null = null;

  constructor(
    private readonly task: string,
    private readonly config: RunConfig,
    private readonly deps: AgentDeps,
  ) {
    this.tools = new AgentTools(deps.sandbox, deps.workspace, config.commandTimeoutMs, deps.signal);
    this.models = new ModelCalls(deps.client, config, deps.signal, deps.usage);
    this.emit = deps.onEvent ?? (() => undefined);
    this.messages = [
      { role: "system", content: coderSystemPrompt(config.checkCommand) },
      { role: "user", content: task },
    ];
    this.transcript = [{ role: "user", content: cap(task, 8192) }];
  }

  async run(): Promise<TaskResult> {
    const { config, models } = this;
    parseCommandLine(config.checkCommand); // a check that can never run fails the task before any model call
    while (models.loops < config.maxLoops) {
      if (!(await this.coderTurn())) continue;
      const check = await this.runCheck();
      if (!check.passed) continue;
      if (config.reviewerModel === null) {
        this.approved = true;
        break;
      }
      if (models.loops >= config.maxLoops) break;
      if (await this.reviewerTurn(config.reviewerModel, check)) break;
    }
    return this.finish();
  }

  /** One coder call and the tools it asks for; true when the coder ended its turn (no calls, none malformed). */
  private async coderTurn(): Promise<boolean> {
    const { config, messages, transcript } = this;
    const r = await this.models.chat(config.coderModel, messages, CODER_TOOL_SPECS);
    const { content, tool_calls } = r.message;
    const turn = parseToolCalls(content, tool_calls, CODER_TOOL_NAMES);
    const calls = turn.calls.map((c) => ({ name: c.name, arguments: c.arguments }));
    const loop = this.models.loops;
    this.emit({
      type: "model",
      role: "coder",
      loop,
      model: config.coderModel,
      content,
      calls: calls.map((c) => c.name),
    });
    const entry = { role: "assistant", model: config.coderModel, content: cap(content, 8192) };
    transcript.push({ ...entry, ...(calls.length ? { tool_calls: calls } : {}) });
    messages.push({ role: "assistant", content, ...(tool_calls.length ? { tool_calls } : {}) });
    if (turn.problem !== null) {
      this.emit({ type: "malformed", problem: turn.problem });
      const fix = malformedCallMessage(turn.problem);
      messages.push({ role: "user", content: fix });
      transcript.push({ role: "user", content: fix });
      return false;
    }
    for (const c of turn.calls) {
      const out = await this.tools.execute(c);
      this.emit({ type: "tool", name: c.name, arguments: c.arguments, ok: out.ok, content: out.content });
      const toolContent = cap(out.content, config.outputCapBytes);
      messages.push({ role: "tool", tool_name: c.name, content: toolContent });
      transcript.push({ role: "tool", tool_name: c.name, content: cap(toolContent, 4096) });
    }
    return turn.calls.length === 0;
  }

  /** The check command after the coder's turn; a failure goes back to the coder. */
  private async runCheck(): Promise<CheckOutcome> {
    const { config, deps } = this;
    const check = await runCheckCommand(deps.sandbox, deps.workspace, config, deps.signal);
    this.check = check;
    this.emit({ type: "check", passed: check.passed, exit_code: check.exit_code, output: check.output });
    const verdict = `${check.passed ? "passed" : "failed"} (exit ${check.exit_code})`;
    this.transcript.push({ role: "check", content: `${verdict}: ${cap(check.output, 4096)}` });
    if (!check.passed) {
      const exit = check.exit_code === null ? "killed" : `exit ${check.exit_code}`;
      this.messages.push({
        role: "user",
        content: checkFailedMessage(config.checkCommand, exit, check.output),
      });
    }
    return check;
  }

  /** One reviewer call on the diff; its feedback goes back to the coder. True when it approved. */
  private async reviewerTurn(model: string, check: CheckOutcome): Promise<boolean> {
    const { config, task, transcript } = this;
    const diff = AgentTools.diff(this.tools.changes(), config.diffCapBytes);
    const request = reviewRequest(task, diff, config.checkCommand, check.output);
    const rv = await this.models.chat(
      model,
      [
        { role: "system", content: REVIEWER_SYSTEM_PROMPT },
        { role: "user", content: request },
      ],
      REVIEWER_TOOLS,
    );
    const { content } = rv.message;
    const verdict = parseToolCalls(content, rv.message.tool_calls, REVIEWER_TOOL_NAMES);
    const calls = verdict.calls.map((c) => c.name);
    this.emit({ type: "model", role: "reviewer", loop: this.models.loops, model, content, calls });
    const decision = verdict.calls.find((c) => c.name === "approve" || c.name === "request_changes");
    if (decision?.name === "approve") {
      this.approved = true;
      const review = String(decision.arguments.summary ?? content ?? "").trim() || "approved";
      this.review = review;
      transcript.push({ role: "reviewer", model, content: `approve: ${cap(review, 4096)}` });
      this.emit({ type: "review", approved: true, feedback: review });
      return true;
    }
    const feedback =
      String(decision?.arguments.feedback ?? "").trim() ||
      content.trim() ||
      verdict.problem ||
      "The reviewer did not approve; look at the task again.";
    this.review = feedback;
    transcript.push({ role: "reviewer", model, content: `request_changes: ${cap(feedback, 4096)}` });
    this.emit({ type: "review", approved: false, feedback });
    this.messages.push({ role: "user", content: `The reviewer requested changes:\n${feedback}` });
    return false;
  }

  /** The result (with the diff of what the task changed); puts the files back unless changes apply. */
  private async finish(): Promise<TaskResult> {
    const { config, check, approved } = this;
    const { loops, usage } = this.models;
    const validatorOk = check?.passed ?? false;
    let error: string | null = null;
    if (check === null) error = `max_loops (${config.maxLoops}) reached before the coder finished`;
    else if (!validatorOk)
      error = `check \`${config.checkCommand}\` still failing after ${loops} loop(s) (max_loops ${config.maxLoops})`;
    else if (!approved) error = `not approved by the reviewer within max_loops (${config.maxLoops})`;
    const changes = this.tools.changes();
    const result: TaskResult = {
      status: validatorOk && approved ? "completed" : "failed",
      validator_ok: validatorOk,
      approved,
      loops,
      files_changed: changes.map((c) => c.rel),
      diff: AgentTools.diff(changes, config.diffCapBytes),
      check,
      usage,
      transcript: capTranscript(this.transcript, config.transcriptCapBytes),
      error,
      review: this.review,
    };
    if (!config.applyChanges) await this.tools.revert();
    return result;
  }
}

/** Runs one task through the coder/reviewer loop (see AgentLoop). */
export function runAgentTask(task: string, config: RunConfig, deps: AgentDeps): Promise<TaskResult> {
  return new AgentLoop(task, config, deps).run();
}
