import { afterAll } from "vitest";
import {
  type PrivatePostgres,
  type PrivatePostgresOptions,
  postgresBin,
  startPostgresServer,
} from "./postgres-server.js";
import { requirePart } from "./requirements.js";

export type { PrivatePostgres } from "./postgres-server.js";

export const hasPostgresServer = (): boolean =>
  requirePart(
    "a PostgreSQL server of the test's own",
    postgresBin() !== null,
    "PostgreSQL's server programs are not installed (apt-get install -y postgresql)",
  );

const started: PrivatePostgres[] = [];

/**
 * A PostgreSQL instance of the test's own, on a free loopback port (and any other addresses given), that the
 * test may restart: the machine's shared server must never be restarted by a test. Stopped after the file.
 */
export async function startPrivatePostgres(o: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const pg = await startPostgresServer(o);
  started.push(pg);
  return pg;
}

afterAll(() => {
  for (const pg of started.splice(0)) pg.stop();
});
