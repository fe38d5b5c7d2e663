import { join } from "node:path";
import { afterEach } from "vitest";
import { FakeOllama } from "../fixtures/fake-ollama.js";
import { tempDir } from "./temp.js";
import { startTestApp } from "./test-app.js";

const servers: FakeOllama[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** The Ollama-protocol test server, closed after the test. */
export async function fakeOllama(models?: string[]): Promise<FakeOllama> {
  const f = new FakeOllama(models);
  servers.push(f);
  await f.start();
  return f;
}

/** A server with the built-in processors, its project root and data dir in a temp dir (unjailed by default). */
export async function agentApp(ollamaUrl: string, extra: Record<string, unknown> = {}, dir = tempDir()) {
  const config = {
    sandbox: "off",
    projectRoot: join(dir, "project"),
    dataDir: join(dir, "data"),
    ollamaUrl,
    ...extra,
  };
  const t = await startTestApp({ dataDir: dir, config, builtins: true });
  return { t, root: config.projectRoot as string, dataDir: config.dataDir as string };
}
