/** What the coder and the reviewer are told. */
export function coderSystemPrompt(checkCommand: string): string {
  return [
    "You are a careful software engineer working in a project directory through tools.",
    "Tools: read_file(path), write_file(path, content), list_files(path), run_command(command).",
    "Paths are relative to the workspace. Commands run without a shell: no pipes, ';' or redirections.",
    'If you cannot call tools natively, answer with JSON only: {"name": "<tool>", "arguments": {...}}',
    "(several calls: a JSON array of such objects).",
    "When the task is done, answer without any tool call and summarise what you changed.",
    `Your work is then checked with \`${checkCommand}\` and reviewed; fix whatever they report.`,
  ].join("\n");
}

export const REVIEWER_SYSTEM_PROMPT = [
  "You review a change made by a coding agent for a task.",
  "You see the task, the unified diff and the output of the project's check command (which passed).",
  "Call approve(summary) when the change does the task correctly and nothing more is needed;",
  "otherwise call request_changes(feedback) with concrete instructions.",
  'If you cannot call tools natively, answer with JSON only: {"name": "approve", "arguments": {"summary": "…"}}',
  'or {"name": "request_changes", "arguments": {"feedback": "…"}}.',
].join("\n");

export function reviewRequest(task: string, diff: string, checkCommand: string, checkOutput: string): string {
  return [
    `Task:\n${task}`,
    `Diff:\n${diff || "(no changes)"}`,
    `Check \`${checkCommand}\` passed. Output:\n${checkOutput || "(no output)"}`,
  ].join("\n\n");
}

export function checkFailedMessage(checkCommand: string, exit: string, output: string): string {
  return `The check \`${checkCommand}\` failed (${exit}). Fix the problem, then finish your turn.\n\n${output}`;
}

/** How the message that answers an unusable tool call begins (counted by the benchmark). */
export const MALFORMED_CALL_PREFIX = "Your tool call could not be used:";

export function malformedCallMessage(problem: string): string {
  return (
    `${MALFORMED_CALL_PREFIX} ${problem}. ` +
    'Call a tool natively, or answer with JSON only: {"name": "<tool>", "arguments": {...}}.'
  );
}
