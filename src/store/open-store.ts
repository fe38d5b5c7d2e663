import type { JobStore } from "./job-store.js";
import { SqliteJobStore } from "./sqlite/sqlite-store.js";

export interface StoreLocation {
  databasePath: string;
  databaseUrl: string | null;
}

/** SQLite file by default; PostgreSQL when a database URL is given. */
export async function openStore(where: StoreLocation): Promise<JobStore> {
  if (where.databaseUrl) {
    const { PostgresJobStore } = await import("./postgres/pg-store.js"); // pg loads only when it is used
    return PostgresJobStore.open({ url: where.databaseUrl });
  }
  return new SqliteJobStore({ path: where.databasePath });
}
