import { readFileSync } from "node:fs";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";

/** What `npm ci` installs must run on the Node.js the README promises (20.19): no EBADENGINE warning. */
describe("install on Node.js 20", () => {
  it("no locked package asks for a newer Node.js than 20", () => {
    const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const tooNew = Object.entries(lock.packages)
      .filter(([, p]) => {
        const floor = /^\s*>=?\s*v?(\d+)/.exec(p.engines?.node ?? "");
        return floor !== null && Number(floor[1]) > 20;
      })
      .map(([name, p]) => `${name} (node ${p.engines?.node})`);
    expect(tooNew).toEqual([]);
  });

  it("light-my-request with cookie 1.x (the override) still sends and reads cookies", async () => {
    const app = Fastify();
    app.get("/", async (request, reply) => {
      reply.header("set-cookie", "seen=1; Path=/; HttpOnly");
      return { cookie: request.headers.cookie ?? null };
    });
    const res = await app.inject({ method: "GET", url: "/", cookies: { a: "b c", d: "e" } });
    expect(res.json()).toEqual({ cookie: "a=b%20c; d=e" });
    expect(res.cookies).toEqual([{ name: "seen", value: "1", path: "/", httpOnly: true }]);
    await app.close();
  });
});
