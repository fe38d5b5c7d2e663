import { CronExpressionParser } from "cron-parser";

/** A cron expression and the IANA time zone its fields are read in. */
export interface CronSpec {
  cron: string;
  timezone: string;
}

/** The aliases a schedule takes, each the five fields it stands for (Vixie cron's, less @reboot). */
export const CRON_ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** The five fields of an expression: an alias spelled out, anything else as given (trimmed). */
function fieldsOf(cron: string): string {
  const trimmed = cron.trim();
  return CRON_ALIASES[trimmed.toLowerCase()] ?? trimmed;
}

/**
 * Why a cron expression or a time zone cannot be used; null when both can. Five fields (minute hour
 * day-of-month month day-of-week) or an alias such as @daily: a seconds field would fire a job every second.
 * Besides numbers, ranges, lists and steps, the fields take `?` (the same as `*`), `L` (last day of the month,
 * or `5L` the last Friday) and `#` (`1#2`: the second Monday); `H` (a hashed, random value) is refused: the
 * same schedule would fire at another time each time it is read.
 */
export function cronProblem(spec: CronSpec): { field: "cron" | "timezone"; msg: string } | null {
  if (!validZone(spec.timezone))
    return {
      field: "timezone",
      msg: `unknown time zone '${spec.timezone}': give an IANA name such as UTC or Europe/Paris`,
    };
  const cron = spec.cron.trim();
  if (cron.startsWith("@") && !(cron.toLowerCase() in CRON_ALIASES))
    return {
      field: "cron",
      msg:
        cron.toLowerCase() === "@reboot"
          ? "@reboot is not a time: a schedule fires at times (use an alias such as @daily, or five fields)"
          : `unknown alias '${cron}': use one of ${Object.keys(CRON_ALIASES).join(", ")}, or five fields`,
    };
  const fields = fieldsOf(cron).split(/\s+/);
  if (fields.length !== 5)
    return {
      field: "cron",
      msg: `cron takes five fields (minute hour day-of-month month day-of-week), got ${fields.length}: '${spec.cron}'`,
    };
  if (fields.some((f) => /(^|,)h(?![a-z])/i.test(f)))
    return {
      field: "cron",
      msg: `invalid cron '${spec.cron}': H (a hashed value) is not supported: give the minute or hour itself`,
    };
  try {
    CronExpressionParser.parse(fieldsOf(cron), { tz: spec.timezone, strict: false }).next();
  } catch (e: unknown) {
    return { field: "cron", msg: `invalid cron '${spec.cron}': ${(e as Error).message}` };
  }
  return null;
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The first tick strictly after `afterSeconds` (epoch seconds). */
export function nextTick(spec: CronSpec, afterSeconds: number): number {
  const it = CronExpressionParser.parse(fieldsOf(spec.cron), {
    tz: spec.timezone,
    currentDate: new Date(afterSeconds * 1000),
  });
  return it.next().getTime() / 1000;
}

/** The last tick at or before `atSeconds`. */
export function lastTickAtOrBefore(spec: CronSpec, atSeconds: number): number {
  const it = CronExpressionParser.parse(fieldsOf(spec.cron), {
    tz: spec.timezone,
    currentDate: new Date(atSeconds * 1000 + 1),
  });
  return it.prev().getTime() / 1000;
}
