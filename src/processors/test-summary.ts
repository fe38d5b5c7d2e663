export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

function pytest(out: string): TestCounts | null {
  // "==== 3 passed, 1 failed, 2 skipped in 0.12s ====" or, with -q, "3 passed, 1 warning in 0.01s"
  const lines = out
    .split("\n")
    .filter(
      (l) =>
        /\d+ (passed|failed|skipped|error|errors|xfailed|xpassed|deselected)\b/.test(l) &&
        / in [\d.]+s/.test(l),
    );
  const line = lines.at(-1);
  if (!line) {
    if (/no tests ran in [\d.]+s/.test(out)) return { passed: 0, failed: 0, skipped: 0 };
    return null;
  }
  const count = (word: string) => num(new RegExp(`(\\d+) ${word}\\b`).exec(line)?.[1]);
  return {
    passed: count("passed") + count("xpassed"),
    failed: count("failed") + count("errors?"),
    skipped: count("skipped") + count("xfailed") + count("deselected"),
  };
}

function vitestOrJest(out: string): TestCounts | null {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  // vitest: "Tests  3 passed | 1 failed | 2 skipped (6)"
  const v = /^\s*Tests\s+(.+)\((\d+)\)\s*$/m.exec(plain);
  if (v?.[1] && /passed|failed|skipped/.test(v[1])) {
    const p = v[1];
    return {
      passed: num(/(\d+) passed/.exec(p)?.[1]),
      failed: num(/(\d+) failed/.exec(p)?.[1]),
      skipped: num(/(\d+) skipped/.exec(p)?.[1]) + num(/(\d+) todo/.exec(p)?.[1]),
    };
  }
  // jest: "Tests:       1 failed, 2 passed, 3 total"
  const j = /^Tests:\s+(.+total)\s*$/m.exec(plain);
  if (j?.[1]) {
    const p = j[1];
    return {
      passed: num(/(\d+) passed/.exec(p)?.[1]),
      failed: num(/(\d+) failed/.exec(p)?.[1]),
      skipped: num(/(\d+) skipped/.exec(p)?.[1]) + num(/(\d+) todo/.exec(p)?.[1]),
    };
  }
  return null;
}

function nodeTest(out: string): TestCounts | null {
  // TAP: "# pass 3" / spec reporter: "ℹ pass 3"
  const pass = /^(?:#|ℹ) pass (\d+)$/m.exec(out);
  const fail = /^(?:#|ℹ) fail (\d+)$/m.exec(out);
  if (!pass || !fail) return null;
  const skipped =
    num(/^(?:#|ℹ) skipped (\d+)$/m.exec(out)?.[1]) + num(/^(?:#|ℹ) todo (\d+)$/m.exec(out)?.[1]);
  return { passed: num(pass[1]), failed: num(fail[1]), skipped };
}

function goTest(out: string): TestCounts | null {
  const count = (word: string) => (out.match(new RegExp(`^\\s*--- ${word}:`, "gm")) ?? []).length;
  const passed = count("PASS");
  const failed = count("FAIL");
  const skipped = count("SKIP");
  if (passed + failed + skipped === 0) return null;
  return { passed, failed, skipped };
}

/** Test counts from a runner's summary (pytest, vitest, jest, node:test, go test); null when unrecognised. */
export function parseTestSummary(stdout: string, stderr = ""): TestCounts | null {
  const out = `${stdout}\n${stderr}`;
  return pytest(out) ?? vitestOrJest(out) ?? nodeTest(out) ?? goTest(out);
}
