import { agentBench } from "./agent-bench.js";
import { postgresBench } from "./postgres-bench.js";
import { queueBench } from "./queue-bench.js";
import { sandboxBench } from "./sandbox-bench.js";

/** `npm run bench [-- section…]`: every section by default. */
const SECTIONS: Record<string, () => Promise<void>> = {
  queue: queueBench,
  sandbox: sandboxBench,
  agent: agentBench,
  postgres: postgresBench,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const names = wanted.length > 0 ? wanted : Object.keys(SECTIONS);
console.log(
  `# ollama-coder benchmarks — ${new Date().toISOString()} — node ${process.version}, ${(await import("node:os")).cpus().length} cores`,
);
for (const name of names) {
  const run = SECTIONS[name];
  if (!run) {
    console.error(`unknown section ${name}; known: ${Object.keys(SECTIONS).join(", ")}`);
    process.exit(2);
  }
  await run();
}
process.exit(0);
