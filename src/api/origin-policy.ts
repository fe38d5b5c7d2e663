import { isIP } from "node:net";
import { isLoopback, type ServerConfig } from "../config/server-config.js";

/** The hostname of a Host header value or an origin's host (`Name:8000`, `[::1]:8000`), lower case. */
function hostnameOf(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname.replace(/\.$/, "").toLowerCase();
  } catch {
    return null;
  }
}

const isAddress = (hostname: string): boolean => isIP(hostname.replace(/^\[|\]$/g, "")) !== 0;

export interface OriginPolicyOptions {
  /** The address the server binds. */
  bindHost: string;
  /** More names from --allowed-hosts; `*` allows any. */
  allowedHosts: readonly string[];
  /** Whether API keys are required (with a non-loopback bind they protect it, so any Host is served). */
  apiKeys: boolean;
  /** The one origin --cors-origin allows, or null. */
  corsOrigin: string | null;
}

/**
 * Which Host values and browser origins the server answers. DNS rebinding points a name the attacker owns at
 * the server, so the browser sends that name as Host: only the bind address, localhost (and loopback
 * addresses on a loopback bind), the --allowed-hosts names and, on a non-loopback bind, any IP address (it
 * names the server itself; rebinding needs a name) are served. A non-loopback bind with API keys serves any
 * Host, since every call needs a key there. An origin is "same" when its host is served and its port is the
 * server's (or it is exactly the request's Host), or when it is the --cors-origin.
 */
export class OriginPolicy {
  private readonly names: Set<string>;
  private readonly anyHost: boolean;
  private readonly anyAddress: boolean;

  constructor(readonly options: OriginPolicyOptions) {
    const bind = hostnameOf(options.bindHost) ?? options.bindHost.toLowerCase();
    const loopback = isLoopback(options.bindHost);
    this.names = new Set(["localhost", bind, ...options.allowedHosts.map((h) => hostnameOf(h) ?? h)]);
    if (loopback) for (const a of ["127.0.0.1", "[::1]"]) this.names.add(a);
    this.anyHost = options.allowedHosts.includes("*") || (!loopback && options.apiKeys);
    this.anyAddress = !loopback;
  }

  static fromConfig(config: ServerConfig): OriginPolicy {
    return new OriginPolicy({
      bindHost: config.host,
      allowedHosts: config.allowedHosts,
      apiKeys: config.apiKeys.length > 0,
      corsOrigin: config.corsOrigin,
    });
  }

  /** Whether a request with this Host header is served (a request without one is not a browser's). */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined || this.anyHost) return true;
    const name = hostnameOf(host);
    if (name === null) return false;
    return this.names.has(name) || (this.anyAddress && isAddress(name));
  }

  /** Whether this Origin header is the --cors-origin (which gets CORS headers). */
  isCorsOrigin(origin: string): boolean {
    return this.options.corsOrigin !== null && originOf(origin) === this.options.corsOrigin;
  }

  /** Whether a request carrying this Origin comes from the server's own pages (or the --cors-origin). */
  sameOrigin(origin: string, requestHost: string | undefined, serverPort: number | undefined): boolean {
    if (this.isCorsOrigin(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (sandboxed frames, file:) and anything unparsable
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const host = url.host.toLowerCase();
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const requested = requestHost?.toLowerCase();
    if (this.anyHost) return host === requested; // keys protect the server; a page must still be its own
    return this.hostAllowed(host) && (port === serverPort || host === requested);
  }
}

/** `scheme://host[:port]` of an Origin header, or null. */
function originOf(origin: string): string | null {
  try {
    return new URL(origin).origin;
  } catch {
    return null;
  }
}
