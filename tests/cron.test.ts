import { describe, expect, it } from "vitest";
import { cronProblem, nextTick } from "../src/queue/cron.js";

const problem = (cron: string) => cronProblem({ cron, timezone: "UTC" })?.msg ?? null;
/** 2026-11-29 22:00:00 UTC, a Sunday. */
const T = Date.UTC(2026, 10, 29, 22, 0, 0) / 1000;
const next = (cron: string) => new Date(nextTick({ cron, timezone: "UTC" }, T) * 1000).toISOString();

describe("cron expressions of schedules", () => {
  it("takes the aliases, @midnight included, in any case", () => {
    for (const alias of ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"])
      expect(problem(alias)).toBeNull();
    expect(problem("@Daily")).toBeNull();
    expect(next("@midnight")).toBe("2026-11-30T00:00:00.000Z");
    expect(next("@weekly")).toBe("2026-12-06T00:00:00.000Z");
  });

  it("says plainly why @reboot and unknown aliases are not schedules", () => {
    expect(problem("@reboot")).toMatch(/^@reboot is not a time/);
    expect(problem("@every")).toMatch(
      /^unknown alias '@every': use one of @yearly, .*@hourly, or five fields$/,
    );
  });

  it("refuses H, which would fire at another time each time the schedule is read", () => {
    expect(problem("H 0 * * *")).toMatch(/H \(a hashed value\) is not supported/);
    expect(problem("0 H(0-5) * * *")).toMatch(/H \(a hashed value\)/);
    expect(problem("0 1,H * * *")).toMatch(/H \(a hashed value\)/);
    expect(problem("0 0 * * THU")).toBeNull(); // a day name with an H in it is no hash
    expect(next("0 0 * * THU")).toBe("2026-12-03T00:00:00.000Z");
  });

  it("reads ? as *, L as the last day and # as the nth weekday, as documented", () => {
    expect(next("0 12 ? * *")).toBe(next("0 12 * * *"));
    expect(next("0 0 L * *")).toBe("2026-11-30T00:00:00.000Z");
    expect(next("0 0 * * 1#2")).toBe("2026-12-14T00:00:00.000Z");
  });

  it("names the fields when their count is wrong, and the parser's reason otherwise", () => {
    expect(problem("* * * * * *")).toMatch(/five fields .* got 6/);
    expect(problem("0 0 15W * *")).toMatch(/^invalid cron '0 0 15W \* \*'/);
  });
});
