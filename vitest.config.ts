import { connect } from "node:net";
import { availableParallelism } from "node:os";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

/** The store/queue suites, which also run against PostgreSQL. */
const BACKEND_SUITES = [
  "tests/job-store.test.ts",
  "tests/worker-pool.test.ts",
  "tests/api-contract.test.ts",
  "tests/malformed-requests.test.ts",
  "tests/crash-recovery.test.ts",
  "tests/multi-node.test.ts",
  "tests/process-pause.test.ts",
  "tests/failed-items.test.ts",
  "tests/retention.test.ts",
  "tests/idempotency.test.ts",
  "tests/scheduling.test.ts",
  "tests/schedules.test.ts",
  "tests/resumable-cancel.test.ts",
  "tests/agent-usage.test.ts",
  "tests/webhooks.test.ts",
  "tests/retries.test.ts",
  "tests/priorities.test.ts",
  "tests/result-cache.test.ts",
  "tests/item-dependencies.test.ts",
  "tests/job-dependencies-store.test.ts",
  "tests/job-dependencies.test.ts",
  "tests/workflows.test.ts",
];

/**
 * Left out of `npm run test:fast` (OC_TEST_FAST=1): suites that start real server processes, wait out real
 * faults (pauses, outages, a full disk), flood or attack the server, or take many seconds each. `npm test`
 * runs them all.
 */
const SLOW_SUITES = [
  "tests/agent-batch.test.ts",
  "tests/agent-isolation.test.ts",
  "tests/cli-client.test.ts",
  "tests/workflow-cli.test.ts",
  "tests/workflow-nodes.test.ts",
  "tests/cli-story.test.ts",
  "tests/connection-flood.test.ts",
  "tests/crash-recovery.test.ts",
  "tests/dashboard.test.ts",
  "tests/data-dir-faults.test.ts",
  "tests/disk-full.test.ts",
  "tests/eval.test.ts",
  "tests/eval-soundness.test.ts",
  "tests/events-and-exports.test.ts",
  "tests/examples.test.ts",
  "tests/jail-attacks.test.ts",
  "tests/jail-refusal.test.ts",
  "tests/large-job-responses.test.ts",
  "tests/mcp-server.test.ts",
  "tests/npm-start.test.ts",
  "tests/multi-node.test.ts",
  "tests/network-partition.test.ts",
  "tests/openapi-client.test.ts",
  "tests/process-pause.test.ts",
  "tests/processors.test.ts",
  "tests/sandbox-commands.test.ts",
  "tests/sandbox-race.test.ts",
  "tests/server-logs.test.ts",
  "tests/store-outage.test.ts",
];

/** Whether something answers on PostgreSQL's port (OC_TEST_PG_URL, else 127.0.0.1:5432). */
function postgresAnswers(): Promise<boolean> {
  const url = new URL(process.env.OC_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 5432), timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

/**
 * Every layer on SQLite, in process: store, queue, API, sandbox paths and guardrail, agent units, task
 * workspaces (real git), plugins.
 */
const FAST_PROJECT: TestProjectInlineConfiguration = {
  extends: true,
  test: { name: "fast", include: ["tests/**/*.test.ts"], exclude: SLOW_SUITES },
};

export default defineConfig(async () => {
  const test = { testTimeout: 30_000, hookTimeout: 30_000, pool: "forks" as const };
  if (process.env.OC_TEST_FAST !== "1") return { test: { ...test, projects: await fullProjects() } };
  // The fast suites mostly wait on sockets and timers: two files at a time even on two cores (vitest's default
  // there is one).
  const maxWorkers = Math.max(2, availableParallelism() - 1);
  return { test: { ...test, maxWorkers, projects: [FAST_PROJECT] } };
});

/** `npm test`: every suite on SQLite, and the store/queue suites again on PostgreSQL when it answers. */
async function fullProjects(): Promise<TestProjectInlineConfiguration[]> {
  // On a laptop without PostgreSQL the PostgreSQL project is left out with a message; under CI it always runs
  // (and fails loudly if the database is missing).
  const withPostgres = process.env.CI === "true" || (await postgresAnswers());
  if (!withPostgres)
    console.warn(
      "skipping the PostgreSQL project: nothing answers on PostgreSQL's port (set OC_TEST_PG_URL)",
    );
  const projects: TestProjectInlineConfiguration[] = [
    {
      extends: true,
      test: { name: "sqlite", include: ["tests/**/*.test.ts"], exclude: ["tests/multi-node.test.ts"] },
    },
  ];
  if (withPostgres) {
    projects.push({
      extends: true,
      test: { name: "postgres", include: BACKEND_SUITES, env: { OC_TEST_BACKEND: "postgres" } },
    });
  }
  return projects;
}
