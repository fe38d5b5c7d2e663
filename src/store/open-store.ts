import { ConfigError } from "../errors.js";
import type { JobStore } from "./job-store.js";
import { SqliteJobStore } from "./sqlite/sqlite-store.js";

export interface StoreLocation {
  databasePath: string;
  databaseUrl: string | null;
}

/** SQLite file by default; PostgreSQL when a database URL is given. */
export async function openStore(where: StoreLocation): Promise<JobStore> {
  if (where.databaseUrl) {
    throw new ConfigError(
      "PostgreSQL support is not built into this version yet; omit --database-url to use SQLite",
    );
  }
  return new SqliteJobStore({ path: where.databasePath });
}
