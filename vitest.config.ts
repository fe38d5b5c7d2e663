import { defineConfig } from "vitest/config";

/** The store/queue suites, which also run against PostgreSQL. */
const BACKEND_SUITES = [
  "tests/job-store.test.ts",
  "tests/worker-pool.test.ts",
  "tests/api-contract.test.ts",
  "tests/malformed-requests.test.ts",
  "tests/crash-recovery.test.ts",
  "tests/multi-node.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "sqlite", include: ["tests/**/*.test.ts"], exclude: ["tests/multi-node.test.ts"] },
      },
      {
        extends: true,
        test: { name: "postgres", include: BACKEND_SUITES, env: { OC_TEST_BACKEND: "postgres" } },
      },
    ],
  },
});
