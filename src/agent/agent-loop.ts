import { checkPassed } from "../sandbox/check-passed.js";
import { parseCommandLine } from "../sandbox/command-line.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { AgentTools, CODER_TOOL_NAMES, CODER_TOOL_SPECS } from "./agent-tools.js";
import type { OllamaClient } from "./ollama-client.js";
import type { ChatMessage, ChatResult, ToolSpec } from "./ollama-types.js";
import {
  checkFailedMessage,
  coderSystemPrompt,
  malformedCallMessage,
  REVIEWER_SYSTEM_PROMPT,
  reviewRequest,
} from "./prompts.js";
import type { RunConfig } from "./run-config.js";
import { parseToolCalls } from "./tool-call-parser.js";

const REVIEWER_TOOLS: ToolSpec[] = [
  {
    type: "function",
    function: {
      name: "approve",
      description: "Approve the change.",
      parameters: { type: "object", properties: { summary: { type: "string" } }, required: [] },
    },
  },
  {
    type: "function",
    function: {
      name: "request_changes",
      description: "Send the change back with instructions.",
      parameters: { type: "object", properties: { feedback: { type: "string" } }, required: ["feedback"] },
    },
  },
];

export interface ModelUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  seconds: number;
}

export interface CheckOutcome {
  command: string;
  passed: boolean;
  exit_code: number | null;
  output: string;
  duration_seconds: number;
}

export interface TranscriptEntry {
  role: string;
  content: string;
  tool_calls?: { name: string; arguments: Record<string, unknown> }[];
  tool_name?: string;
  model?: string;
}

export interface TaskResult {
  status: "completed" | "failed";
  validator_ok: boolean;
  approved: boolean;
  loops: number;
  files_changed: string[];
  diff: string;
  check: CheckOutcome | null;
  usage: Record<string, ModelUsage>;
  transcript: TranscriptEntry[];
  error: string | null;
  review: string | null;
}

/** What happens, as it happens (the CLI prints these). */
export type AgentEvent =
  | {
      type: "model";
      role: "coder" | "reviewer";
      loop: number;
      model: string;
      content: string;
      calls: string[];
    }
  | { type: "tool"; name: string; arguments: Record<string, unknown>; ok: boolean; content: string }
  | { type: "malformed"; problem: string }
  | { type: "check"; passed: boolean; exit_code: number | null; output: string }
  | { type: "review"; approved: boolean; feedback: string };

export interface AgentDeps {
  client: OllamaClient;
  sandbox: Sandbox;
  /** Absolute workspace directory inside the sandbox root. */
  workspace: string;
  signal: AbortSignal;
  onEvent?: (e: AgentEvent) => void;
}

const cap = (s: string, bytes: number): string =>
  s.length <= bytes ? s : `${s.slice(0, bytes)}\n… [${s.length - bytes} more characters]`;

function capTranscript(entries: TranscriptEntry[], budget: number): TranscriptEntry[] {
  const size = (e: TranscriptEntry) => JSON.stringify(e).length;
  let total = entries.reduce((n, e) => n + size(e), 0);
  if (total <= budget) return entries;
  const head = entries.slice(0, 2);
  const tail = entries.slice(2);
  let dropped = 0;
  while (tail.length > 1 && total > budget) {
    total -= size(tail.shift()!);
    dropped++;
  }
  return [...head, { role: "note", content: `… ${dropped} transcript entries omitted …` }, ...tail];
}

/**
 * One task through the coder/reviewer loop: coder turns run tools until a turn has none; then the check
 * command runs; a failure goes back to the coder, a pass to the reviewer (approve or request_changes). Every
 * model call counts toward max_loops. Succeeds when the check passes and the reviewer approves.
 */
export async function runAgentTask(task: string, config: RunConfig, deps: AgentDeps): Promise<TaskResult> {
  const { client, sandbox, workspace, signal } = deps;
  const emit = deps.onEvent ?? (() => undefined);
  const tools = new AgentTools(sandbox, workspace, config.commandTimeoutMs, signal);
  const usage: Record<string, ModelUsage> = {};
  const transcript: TranscriptEntry[] = [];
  const messages: ChatMessage[] = [
    { role: "system", content: coderSystemPrompt(config.checkCommand) },
    { role: "user", content: task },
  ];
  transcript.push({ role: "user", content: cap(task, 8192) });
  let loops = 0;
  let check: CheckOutcome | null = null;
  let approved = false;
  let review: string | null = null;
  let error: string | null = null;

  const call = async (model: string, msgs: ChatMessage[], specs: ToolSpec[]): Promise<ChatResult> => {
    loops++;
    const r = await client.chat(
      {
        model,
        messages: msgs,
        tools: specs,
        options: config.modelOptions,
        ...(config.keepAlive !== undefined ? { keep_alive: config.keepAlive } : {}),
      },
      signal,
    );
    usage[model] ??= { calls: 0, prompt_tokens: 0, completion_tokens: 0, seconds: 0 };
    const u = usage[model];
    u.calls++;
    u.prompt_tokens += r.prompt_eval_count;
    u.completion_tokens += r.eval_count;
    u.seconds = Math.round((u.seconds + (r.total_duration_seconds || r.wall_seconds)) * 1000) / 1000;
    return r;
  };

  const runCheck = async (): Promise<CheckOutcome> => {
    const run = await sandbox.run({
      command: config.checkCommand,
      cwd: workspace,
      timeoutMs: config.checkTimeoutMs,
      signal,
    });
    const passed = checkPassed(run);
    const output = cap(
      [run.spawn_error, run.stdout, run.stderr].filter(Boolean).join("\n").trim(),
      config.outputCapBytes,
    );
    return {
      command: config.checkCommand,
      passed,
      exit_code: run.exit_code,
      output,
      duration_seconds: run.duration_seconds,
    };
  };

  parseCommandLine(config.checkCommand); // a check that can never run fails the task before any model call

  while (loops < config.maxLoops) {
    // Coder turn.
    const r = await call(config.coderModel, messages, CODER_TOOL_SPECS);
    const turn = parseToolCalls(r.message.content, r.message.tool_calls, CODER_TOOL_NAMES);
    emit({
      type: "model",
      role: "coder",
      loop: loops,
      model: config.coderModel,
      content: r.message.content,
      calls: turn.calls.map((c) => c.name),
    });
    transcript.push({
      role: "assistant",
      model: config.coderModel,
      content: cap(r.message.content, 8192),
      ...(turn.calls.length
        ? { tool_calls: turn.calls.map((c) => ({ name: c.name, arguments: c.arguments })) }
        : {}),
    });
    messages.push({
      role: "assistant",
      content: r.message.content,
      ...(r.message.tool_calls.length ? { tool_calls: r.message.tool_calls } : {}),
    });
    if (turn.problem !== null) {
      emit({ type: "malformed", problem: turn.problem });
      const fix = malformedCallMessage(turn.problem);
      messages.push({ role: "user", content: fix });
      transcript.push({ role: "user", content: fix });
      continue;
    }
    if (turn.calls.length > 0) {
      for (const c of turn.calls) {
        const out = await tools.execute(c);
        emit({ type: "tool", name: c.name, arguments: c.arguments, ok: out.ok, content: out.content });
        const content = cap(out.content, config.outputCapBytes);
        messages.push({ role: "tool", tool_name: c.name, content });
        transcript.push({ role: "tool", tool_name: c.name, content: cap(content, 4096) });
      }
      continue;
    }
    // The coder's turn ended: check.
    check = await runCheck();
    emit({ type: "check", passed: check.passed, exit_code: check.exit_code, output: check.output });
    transcript.push({
      role: "check",
      content: `${check.passed ? "passed" : "failed"} (exit ${check.exit_code}): ${cap(check.output, 4096)}`,
    });
    if (!check.passed) {
      const exit = check.exit_code === null ? "killed" : `exit ${check.exit_code}`;
      const msg = checkFailedMessage(config.checkCommand, exit, check.output);
      messages.push({ role: "user", content: msg });
      continue;
    }
    if (config.reviewerModel === null) {
      approved = true;
      break;
    }
    if (loops >= config.maxLoops) break;
    // Reviewer turn.
    const rv = await call(
      config.reviewerModel,
      [
        { role: "system", content: REVIEWER_SYSTEM_PROMPT },
        {
          role: "user",
          content: reviewRequest(
            task,
            AgentTools.diff(tools.changes(), config.diffCapBytes),
            config.checkCommand,
            check.output,
          ),
        },
      ],
      REVIEWER_TOOLS,
    );
    const verdict = parseToolCalls(rv.message.content, rv.message.tool_calls, ["approve", "request_changes"]);
    emit({
      type: "model",
      role: "reviewer",
      loop: loops,
      model: config.reviewerModel,
      content: rv.message.content,
      calls: verdict.calls.map((c) => c.name),
    });
    const decision = verdict.calls.find((c) => c.name === "approve" || c.name === "request_changes");
    if (decision?.name === "approve") {
      approved = true;
      review = String(decision.arguments.summary ?? rv.message.content ?? "").trim() || "approved";
      transcript.push({
        role: "reviewer",
        model: config.reviewerModel,
        content: `approve: ${cap(review, 4096)}`,
      });
      emit({ type: "review", approved: true, feedback: review });
      break;
    }
    const feedback =
      String(decision?.arguments.feedback ?? "").trim() ||
      rv.message.content.trim() ||
      verdict.problem ||
      "The reviewer did not approve; look at the task again.";
    review = feedback;
    transcript.push({
      role: "reviewer",
      model: config.reviewerModel,
      content: `request_changes: ${cap(feedback, 4096)}`,
    });
    emit({ type: "review", approved: false, feedback });
    messages.push({ role: "user", content: `The reviewer requested changes:\n${feedback}` });
  }

  const validatorOk = check?.passed ?? false;
  if (!(validatorOk && approved)) {
    if (check === null) error = `max_loops (${config.maxLoops}) reached before the coder finished`;
    else if (!validatorOk)
      error = `check \`${config.checkCommand}\` still failing after ${loops} loop(s) (max_loops ${config.maxLoops})`;
    else error = `not approved by the reviewer within max_loops (${config.maxLoops})`;
  }
  const changes = tools.changes();
  const result: TaskResult = {
    status: validatorOk && approved ? "completed" : "failed",
    validator_ok: validatorOk,
    approved,
    loops,
    files_changed: changes.map((c) => c.rel),
    diff: AgentTools.diff(changes, config.diffCapBytes),
    check,
    usage,
    transcript: capTranscript(transcript, config.transcriptCapBytes),
    error,
    review,
  };
  if (!config.applyChanges) await tools.revert();
  return result;
}
