import { statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import type { ServerConfigInput } from "./server-config.js";

/**
 * A project root named by hand (`--project-root` or OLLAMA_CODER_PROJECT_ROOT) must be a directory that
 * exists: a typo would otherwise give the server an empty sandbox of its own. The default (`./project`) is
 * created when missing.
 */
export function checkProjectRoot(input: ServerConfigInput): void {
  if (input.projectRoot === undefined) return;
  const root = resolve(input.projectRoot);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new ConfigError(
        `--project-root ${root} does not exist: create it (mkdir -p ${root}) or point --project-root at your project`,
      );
    throw new ConfigError(`--project-root ${root} cannot be read: ${(e as Error).message}`);
  }
  if (!isDirectory)
    throw new ConfigError(`--project-root ${root} is not a directory: point it at your project's directory`);
}
