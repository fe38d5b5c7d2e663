import { connect } from "node:net";
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

export default defineConfig(async () => {
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
  return { test: { testTimeout: 30_000, hookTimeout: 30_000, pool: "forks" as const, projects } };
});
