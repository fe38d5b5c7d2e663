import { CronExpressionParser } from "cron-parser";

/** A cron expression and the IANA time zone its fields are read in. */
export interface CronSpec {
  cron: string;
  timezone: string;
}

/**
 * Why a cron expression or a time zone cannot be used; null when both can. Five fields (minute hour
 * day-of-month month day-of-week) or an alias such as @daily: a seconds field would fire a job every second.
 */
export function cronProblem(spec: CronSpec): { field: "cron" | "timezone"; msg: string } | null {
  if (!validZone(spec.timezone))
    return {
      field: "timezone",
      msg: `unknown time zone '${spec.timezone}': give an IANA name such as UTC or Europe/Paris`,
    };
  const fields = spec.cron.trim().split(/\s+/);
  if (!spec.cron.trim().startsWith("@") && fields.length !== 5)
    return {
      field: "cron",
      msg: `cron takes five fields (minute hour day-of-month month day-of-week), got ${fields.length}: '${spec.cron}'`,
    };
  try {
    CronExpressionParser.parse(spec.cron, { tz: spec.timezone, strict: false }).next();
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
  const it = CronExpressionParser.parse(spec.cron, {
    tz: spec.timezone,
    currentDate: new Date(afterSeconds * 1000),
  });
  return it.next().getTime() / 1000;
}

/** The last tick at or before `atSeconds`. */
export function lastTickAtOrBefore(spec: CronSpec, atSeconds: number): number {
  const it = CronExpressionParser.parse(spec.cron, {
    tz: spec.timezone,
    currentDate: new Date(atSeconds * 1000 + 1),
  });
  return it.prev().getTime() / 1000;
}
