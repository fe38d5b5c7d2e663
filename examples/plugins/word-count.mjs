// A job type of your own, added to the stock server with `ollama-coder serve --plugin <this file>`.
//
// "word_count": each item names a file of the project ({"id": "readme", "path": "README.md"}); its entry in
// the job's results gets the file's `words`, `lines` and `bytes`, counted like `wc -w -l -c` (words are runs
// of non-whitespace, lines are newline characters). A file that is missing, outside the project root, not a
// regular file or over the read limit (10 MiB) fails that item with the reason; the other items go on.
//
// The server imports this module and calls `register(registry, config)` once at start (loadPlugins in
// src/app.ts). `config` is the server's configuration: `config.projectRoot` is the --project-root directory,
// and `sandboxFromConfig(config)` gives the file rules the built-in job types use (paths resolved beneath the
// root, symlinks never followed out of it, the server's data directory refused).
import { sandboxFromConfig } from "ollama-coder";

export function register(registry, config) {
  const sandbox = sandboxFromConfig(config);

  registry.register("word_count", {
    // Checked at submit time: a bad item is a 422 that names it, and no job is created.
    validateItem(item) {
      if (typeof item.path === "string" && item.path.length > 0) return [];
      return [
        { loc: ["path"], msg: "Field required (a path relative to the project root)", type: "missing" },
      ];
    },

    // Runs once per item. An error thrown here fails the item with the error's message.
    async processItem(item, ctx) {
      ctx.signal.throwIfAborted(); // aborted when the job is cancelled or the server stops
      const { content, bytes } = await sandbox.files.read(item.path);
      const words = content.split(/\s+/).filter((w) => w.length > 0).length;
      const lines = content.split("\n").length - 1;
      return { status: "succeeded", fields: { words, lines, bytes } };
    },
  });
}
