import { Help, type Option } from "commander";
import { SERVER_DEFAULTS } from "../config/server-config.js";

/**
 * Defaults that `--help` shows for options whose default is applied after the environment is read (so
 * commander must not apply it: an unset flag has to stay unset for `OLLAMA_CODER_*` to fill it).
 */
const RESOLVED_DEFAULTS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(SERVER_DEFAULTS).map(([k, v]) => [k, String(v)])),
  rateLimit: `0 on a loopback address, ${SERVER_DEFAULTS.rateLimitOffLoopback} otherwise`,
  dataDir: `${SERVER_DEFAULTS.dataDir} (batch_jobs.db inside)`,
};

const base = new Help();

/** Help that shows, besides commander's own defaults, those the server's configuration applies. */
export const helpWithDefaults: Partial<Help> = {
  optionDescription(option: Option): string {
    const text = base.optionDescription(option);
    const dflt = RESOLVED_DEFAULTS[option.attributeName()];
    if (option.defaultValue !== undefined || dflt === undefined || /\bdefault\b/.test(text)) return text;
    return `${text} (default: ${dflt})`;
  },
};
