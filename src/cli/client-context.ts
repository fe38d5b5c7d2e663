import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { errorMessage } from "../errors.js";
import { ApiClient } from "./api-client.js";
import { EXIT } from "./exit-codes.js";

/** The global options every client command reads. */
interface Globals {
  server: string;
  apiKey?: string;
  json?: boolean;
}

/** The API client and the `--json` switch of a client command. */
export function client(cmd: Command): { api: ApiClient; json: boolean } {
  const g = cmd.optsWithGlobals() as Globals;
  const apiKey = g.apiKey ?? process.env.OLLAMA_CODER_API_KEY;
  return { api: new ApiClient({ server: g.server, apiKey }), json: g.json === true };
}

/** Runs a command's body: its result is the exit code; an error is printed and exits 3. */
export async function run(fn: () => Promise<number | undefined>): Promise<void> {
  try {
    process.exitCode = (await fn()) ?? 0;
  } catch (e: unknown) {
    console.error(`ollama-coder: ${errorMessage(e)}`);
    process.exitCode = EXIT.error;
  }
}

/** A commander parser for a whole number ≥ `min` (and ≤ `max`): anything else is a usage error (exit 3). */
export const wholeNumber =
  (min = 0, max = Number.POSITIVE_INFINITY) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max || value.trim() === "")
      throw new InvalidArgumentError(
        max === Number.POSITIVE_INFINITY
          ? `expected a whole number ≥ ${min}`
          : `expected a whole number from ${min} to ${max}`,
      );
    return n;
  };

/** `1–20 of 45 job(s)`, or `0 of 45 job(s) (offset 60)` past the end. */
export function pageLine(shown: number, offset: number, total: number, noun: string): string {
  if (shown === 0) return `0 of ${total} ${noun}${offset > 0 ? ` (offset ${offset})` : ""}`;
  return `${offset + 1}–${offset + shown} of ${total} ${noun}`;
}

/** A JSON file, or standard input for `-`. */
export function readInput(file: string): unknown {
  const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    throw new Error(`${file === "-" ? "standard input" : file} is not JSON: ${errorMessage(e)}`);
  }
}
