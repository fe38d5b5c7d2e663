import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";

/**
 * Network namespaces for worker processes of a test's (or a benchmark's) own: each node gets a namespace, a
 * veth pair and a private /30 (10.x.y.4i/30, x and y drawn at random and checked unused on this machine),
 * and optionally `tc netem` delay on both ends, so that every round trip to the database on the host end
 * costs what it costs between machines. Needs root (CAP_NET_ADMIN) and iproute2. No test-runner imports here,
 * so that the benchmarks use it too.
 */

export interface NetNode {
  /** The namespace's name (`ip netns exec NAME …`). */
  ns: string;
  /** The host end's address: what a server in the root namespace listens on for this node. */
  hostAddr: string;
  /** The node's own address inside its namespace. */
  nodeAddr: string;
  hostDev: string;
  nodeDev: string;
}

export interface NetLab {
  nodes: NetNode[];
  /** The program and arguments that run `program args…` inside the node's namespace. */
  command(node: NetNode, program: string, args: readonly string[]): [string, string[]];
  /** Takes the node's link down (its processes live on, cut off) or brings it back. */
  setLink(node: NetNode, up: boolean): void;
  /** Deletes every namespace and veth pair made; safe to call twice. */
  teardown(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe", timeout: 10_000 });
const inNs = (ns: string, ...cmd: string[]) =>
  execFileSync("ip", ["netns", "exec", ns, ...cmd], { stdio: "pipe", timeout: 10_000 });

/** null when namespaces can be made here, else why not. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces are Linux only";
  if (process.getuid?.() !== 0) return "making network namespaces needs root";
  const probe = `ocprobe${randomBytes(3).toString("hex")}`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return `\`ip netns add\` failed: ${(add.stderr || add.error?.message || "").trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  if (spawnSync("tc", ["-V"], { stdio: "ignore" }).status !== 0) return "tc (iproute2) is not installed";
  return null;
}

/** Whether this kernel has tc's netem qdisc (some VM kernels are built without it). */
export function netemAvailable(): boolean {
  const dev = `ocq${randomBytes(3).toString("hex")}`;
  const pair = ["link", "add", dev, "type", "veth", "peer", "name", `${dev}p`];
  if (spawnSync("ip", pair, { stdio: "ignore" }).status !== 0) return false;
  try {
    const tc = spawnSync("tc", ["qdisc", "add", "dev", dev, "root", "netem", "delay", "1ms"], {
      stdio: "ignore",
    });
    return tc.status === 0;
  } finally {
    spawnSync("ip", ["link", "del", dev], { stdio: "ignore" });
  }
}

/** A 10.x.y.0/24 that no interface on this machine uses. */
function freeSubnet(): string {
  const used = execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" });
  for (;;) {
    const prefix = `10.${randomInt(64, 250)}.${randomInt(0, 256)}.`;
    if (!used.includes(` ${prefix}`)) return prefix;
  }
}

/** `count` nodes (at most 63), each `delayMs` away from the host in each direction (0: no netem). */
export function createNetLab(count: number, delayMs = 0): NetLab {
  const tag = randomBytes(3).toString("hex");
  const prefix = freeSubnet();
  const nodes: NetNode[] = [];
  const lab: NetLab = {
    nodes,
    command: (node, program, args) => ["ip", ["netns", "exec", node.ns, program, ...args]],
    setLink: (node, up) => void ip("link", "set", node.hostDev, up ? "up" : "down"),
    teardown: () => {
      for (const n of nodes.splice(0)) {
        // Deleting the namespace deletes its end of the pair, and with it the host end.
        spawnSync("ip", ["netns", "del", n.ns], { stdio: "ignore" });
        spawnSync("ip", ["link", "del", n.hostDev], { stdio: "ignore" });
      }
    },
  };
  try {
    for (let i = 0; i < count; i++) {
      const node: NetNode = {
        ns: `oc${tag}n${i}`,
        hostAddr: `${prefix}${4 * i + 1}`,
        nodeAddr: `${prefix}${4 * i + 2}`,
        hostDev: `oc${tag}h${i}`,
        nodeDev: `oc${tag}v${i}`,
      };
      ip("netns", "add", node.ns);
      nodes.push(node);
      ip("link", "add", node.hostDev, "type", "veth", "peer", "name", node.nodeDev);
      ip("link", "set", node.nodeDev, "netns", node.ns);
      ip("addr", "add", `${node.hostAddr}/30`, "dev", node.hostDev);
      ip("link", "set", node.hostDev, "up");
      inNs(node.ns, "ip", "addr", "add", `${node.nodeAddr}/30`, "dev", node.nodeDev);
      inNs(node.ns, "ip", "link", "set", node.nodeDev, "up");
      inNs(node.ns, "ip", "link", "set", "lo", "up");
      if (delayMs > 0) {
        const delay = ["root", "netem", "delay", `${delayMs}ms`];
        execFileSync("tc", ["qdisc", "add", "dev", node.hostDev, ...delay], { stdio: "pipe" });
        inNs(node.ns, "tc", "qdisc", "add", "dev", node.nodeDev, ...delay);
      }
    }
  } catch (e: unknown) {
    lab.teardown();
    throw e;
  }
  return lab;
}
