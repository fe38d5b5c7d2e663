import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP relay that holds every chunk `delayMs` before passing it on, in each direction and in order: latency
 * between machines where the kernel has no `netem` qdisc (tc says "Specified qdisc kind is unknown"). It
 * listens on `host` (e.g. the host end of a test's veth pair) and forwards to `target` on this machine. No
 * test-runner imports here, so that the benchmarks use it too.
 */
export interface DelayRelay {
  port: number;
  close(): Promise<void>;
}

function delayed(from: Socket, to: Socket, delayMs: number): void {
  from.on("data", (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on("end", () => setTimeout(() => to.end(), delayMs));
  from.on("error", () => to.destroy());
  from.on("close", () => setTimeout(() => to.destroy(), delayMs));
}

export function startDelayRelay(o: {
  host: string;
  targetPort: number;
  delayMs: number;
}): Promise<DelayRelay> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (inbound) => {
    const outbound = connect({ host: "127.0.0.1", port: o.targetPort, noDelay: true });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    delayed(inbound, outbound, o.delayMs);
    delayed(outbound, inbound, o.delayMs);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, o.host, () => {
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
