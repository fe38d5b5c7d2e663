import { describe, expect, it } from "vitest";
import { closestMatch, unknownNameMessage } from "../src/util/closest-match.js";
import { noopProcessor } from "./fixtures/test-processors.js";
import { startTestApp } from "./helpers/test-app.js";

describe("did you mean", () => {
  it("suggests the close name, within three edits and alike enough", () => {
    expect(closestMatch("paralel", ["parallel", "chunk_size"])).toBe("parallel");
    expect(closestMatch("check_comand", ["check_command", "timeout_seconds"])).toBe("check_command");
    expect(closestMatch("zzzz", ["parallel"])).toBeNull();
  });

  it("does no work in proportion to a huge name, and repeats only its start (an attack, not a typo)", () => {
    const huge = "x".repeat(1_000_000);
    expect(closestMatch(huge, ["parallel", "x".repeat(999_999)])).toBeNull();
    const msg = unknownNameMessage("field", huge, ["parallel"]);
    expect(msg.length).toBeLessThan(120);
    expect(msg).toMatch(/^unknown field 'x{80}…'$/);
  });

  it("a body with a megabyte-long unknown field, or thousands of them, is a short 422", async () => {
    const t = await startTestApp({ register: (r) => r.register("noop", noopProcessor) });
    const long = await t.request("POST", "/batch/jobs", {
      type: "noop",
      items: [{}],
      ["y".repeat(1_000_000)]: 1,
    });
    expect(long.status).toBe(422);
    expect(long.text.length).toBeLessThan(1_000);
    const many = Object.fromEntries(
      Array.from({ length: 5_000 }, (_, i) => [`field_${i}_${"z".repeat(200)}`, i]),
    );
    const wide = await t.request("POST", "/batch/jobs", { type: "noop", items: [{}], ...many });
    expect(wide.status).toBe(422);
    expect(wide.body.detail).toHaveLength(100);
    expect(wide.body.detail[0].msg).toMatch(/^unknown field .field_0_z+/);
  });
});
