import { ConfigError } from "../errors.js";

/** What one jailed command may use (`--limits`). */
export interface CommandLimits {
  /** Address space of each process, bytes (RLIMIT_AS). */
  memory: number;
  /** Processes and threads the commands may run at once (a pids cgroup as root, else RLIMIT_NPROC). */
  processes: number;
  /** Largest file a command may write, bytes (RLIMIT_FSIZE). */
  fileSize: number;
  /** CPU seconds of each process (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Open files of each process (RLIMIT_NOFILE). */
  openFiles: number;
}

export const DEFAULT_LIMITS = {
  memory: 8 * 1024 ** 3,
  processes: 1024,
  fileSize: 4 * 1024 ** 3,
  cpuSeconds: 3600,
  openFiles: 4096,
} as const satisfies CommandLimits;

const KEYS: Record<string, { key: keyof CommandLimits; size: boolean; min: number }> = {
  memory: { key: "memory", size: true, min: 16 * 1024 * 1024 },
  processes: { key: "processes", size: false, min: 8 },
  "file-size": { key: "fileSize", size: true, min: 1024 },
  cpu: { key: "cpuSeconds", size: false, min: 1 },
  "open-files": { key: "openFiles", size: false, min: 16 },
};

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * `memory=8g,processes=1024,file-size=4g,cpu=3600,open-files=4096`: any subset, the rest from the defaults.
 * Sizes take k, m, g or t (powers of 1024).
 */
export function parseLimits(text: string | undefined): CommandLimits {
  const limits: CommandLimits = { ...DEFAULT_LIMITS };
  if (text === undefined || text.trim() === "") return limits;
  for (const part of text.split(",")) {
    const [name = "", value = ""] = part.split("=").map((s) => s.trim().toLowerCase());
    const spec = KEYS[name];
    if (!spec)
      throw new ConfigError(`limits: unknown limit '${name}' (known: ${Object.keys(KEYS).join(", ")})`);
    const m = /^(\d+)([kmgt]?)$/.exec(value);
    const n = m && (spec.size || m[2] === "") ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
    if (!Number.isSafeInteger(n) || n < spec.min)
      throw new ConfigError(
        `limits: ${name} must be a whole number${spec.size ? " (k, m, g or t allowed)" : ""} of at least ${spec.min} (got ${JSON.stringify(value)})`,
      );
    limits[spec.key] = n;
  }
  return limits;
}
