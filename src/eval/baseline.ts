import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { createTwoFilesPatch } from "diff";
import type { OllamaClient } from "../agent/ollama-client.js";
import { type EvalTask, taskPart } from "./task-spec.js";
import { listFiles, overlay, readOrNull } from "./tree.js";

const SYSTEM = [
  "You are a software engineer. You get a task and every file of a small Python project.",
  "Answer with the complete new content of each file you create or change, and nothing else, each as:",
  "### FILE: <path>",
  "```python",
  "<the whole file>",
  "```",
].join("\n");

/** The single-shot prompt: the task, then every file of the start tree. */
export function baselinePrompt(task: EvalTask): string {
  const start = taskPart(task, "start");
  const files = listFiles(start).map(
    (f) => `### FILE: ${f}\n\`\`\`python\n${readFileSync(join(start, f), "utf8")}\`\`\``,
  );
  return `Task:\n${task.description}\n\nProject files:\n\n${files.join("\n\n")}`;
}

const BLOCK = /^### FILE: *(\S+)[^\n]*\n```[^\n]*\n([\s\S]*?)^```/gm;

/** The files of a single-shot answer; paths that would leave the tree are dropped. */
export function parseFiles(answer: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of answer.matchAll(BLOCK)) {
    const path = normalize(m[1]!);
    if (path.startsWith("/") || path === ".." || path.startsWith("../")) continue;
    files.set(path, m[2]!);
  }
  return files;
}

export interface BaselineAttempt {
  /** The task's tree after the answer was written over the start tree. */
  tree: string;
  answered: boolean;
  tokensIn: number;
  tokensOut: number;
  seconds: number;
  diff: string;
}

/** One model call, no tools, no loop: the answer's files written over a copy of the start tree at `tree`. */
export async function runBaseline(
  client: OllamaClient,
  model: string,
  task: EvalTask,
  tree: string,
  signal: AbortSignal,
): Promise<BaselineAttempt> {
  const start = taskPart(task, "start");
  overlay(start, tree);
  const started = performance.now();
  const r = await client.chat(
    {
      model,
      messages: [
        { role: "system", content: SYSTEM },
        { role: "user", content: baselinePrompt(task) },
      ],
    },
    signal,
  );
  const files = parseFiles(r.message.content);
  const diffs: string[] = [];
  for (const [path, content] of files) {
    const before = readOrNull(join(start, path));
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), content);
    if (before !== content) diffs.push(createTwoFilesPatch(`a/${path}`, `b/${path}`, before ?? "", content));
  }
  return {
    tree,
    answered: files.size > 0,
    tokensIn: r.prompt_eval_count,
    tokensOut: r.eval_count,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    diff: diffs.join(""),
  };
}
