import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { afterAll } from "vitest";
import type { JobStore } from "../../src/store/job-store.js";
import { openStore } from "../../src/store/open-store.js";
import { requirePart } from "./requirements.js";
import { tempDir } from "./temp.js";

/** Which backend the store/queue suites run on: OC_TEST_BACKEND=sqlite (default) or postgres. */
export const BACKEND: "sqlite" | "postgres" =
  process.env.OC_TEST_BACKEND === "postgres" ? "postgres" : "sqlite";

export const PG_BASE = process.env.OC_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let pgChecked: boolean | null = null;

/** Whether PostgreSQL answers (a failure under CI, a clear skip on a laptop). */
export async function postgresAvailable(): Promise<boolean> {
  if (pgChecked !== null) return pgChecked;
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  let ok = false;
  try {
    await c.connect();
    await c.query("SELECT 1");
    ok = true;
  } catch {
    ok = false;
  } finally {
    await c.end().catch(() => undefined);
  }
  pgChecked = requirePart("PostgreSQL", ok, `nothing answers on ${PG_BASE} (set OC_TEST_PG_URL)`);
  return pgChecked;
}

const schemas: string[] = [];

/** A database URL with a fresh schema of its own (dropped after the file's tests). */
export function freshDatabaseUrl(): string {
  const schema = `oc_test_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  const u = new URL(PG_BASE);
  u.searchParams.set("schema", schema);
  return u.toString();
}

afterAll(async () => {
  if (schemas.length === 0) return;
  const c = new pg.Client({ connectionString: PG_BASE });
  await c.connect();
  for (const s of schemas.splice(0))
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(s)} CASCADE`).catch(() => undefined);
  await c.end();
});

/** Where a test's store lives, for the backend under test. */
export interface TestLocation {
  databasePath: string;
  databaseUrl: string | null;
}

export function freshLocation(): TestLocation {
  const databasePath = join(tempDir(), "data", "batch_jobs.db");
  return { databasePath, databaseUrl: BACKEND === "postgres" ? freshDatabaseUrl() : null };
}

export function openTestStore(where: TestLocation = freshLocation()): Promise<JobStore> {
  return openStore(where);
}

/** Runs a read-only SQL query on the store's database, whatever the backend. */
export async function querySql(
  where: TestLocation,
  sql: string,
  args: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (where.databaseUrl) {
    const { PostgresJobStore } = await import("../../src/store/postgres/pg-store.js");
    const store = await PostgresJobStore.open({ url: where.databaseUrl });
    try {
      let i = 0;
      return (
        await store.pool.query(
          sql.replace(/\?/g, () => `$${++i}`),
          args,
        )
      ).rows;
    } finally {
      await store.close();
    }
  }
  const Database = (await import("better-sqlite3")).default;
  const db = new Database(where.databasePath, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}
