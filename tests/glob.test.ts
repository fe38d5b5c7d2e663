import { minimatch } from "minimatch";
import { describe, expect, it } from "vitest";
import { Glob, GlobError, MAX_ALTERNATIVES } from "../src/domain/glob.js";

const PATHS = [
  "a.py",
  "src/a.py",
  "src/pkg/b.py",
  "src/pkg/deep/c.pyi",
  ".hidden.py",
  "src/.env",
  "README.md",
  "docs/x.md",
  "src/a.py.bak",
  "test_calc.py",
  "tests/test_calc.py",
  "src",
  "src/",
  "a/b/c/d/e.txt",
];

const PATTERNS = [
  "*.py",
  "*.{py,pyi}",
  "src/*.py",
  "src/**/*.py",
  "src/**",
  "**/*.md",
  "**",
  "test_*.py",
  "tests/test_?alc.py",
  "[a-c].py",
  "[!a].py",
  "src/pkg/**/c.pyi",
  "a/**/e.txt",
  "a/*/c/**",
  "*",
  "README.md",
  "src/a.py*",
];

describe("globs of step filters", () => {
  it("match as minimatch does (dot files included, a pattern without / matches the file name)", () => {
    for (const pattern of PATTERNS) {
      const glob = new Glob(pattern);
      for (const path of PATHS) {
        const expected = minimatch(path, pattern, { dot: true, matchBase: !pattern.includes("/") });
        expect(glob.matches(path), `${pattern} ~ ${path}`).toBe(expected);
      }
    }
  });

  it("take escapes literally and refuse what they cannot take", () => {
    expect(new Glob("a\\*.py").matches("a*.py")).toBe(true);
    expect(new Glob("a\\*.py").matches("ab.py")).toBe(false);
    expect(() => new Glob("{a,b")).toThrow(GlobError);
    expect(() => new Glob("x\\")).toThrow(GlobError);
    const many = "{a,b}".repeat(4); // 16 patterns
    expect(() => new Glob(many)).toThrow(new RegExp(`more than ${MAX_ALTERNATIVES}`));
  });

  it("a pattern that makes a backtracking matcher take years answers at once", () => {
    // Against a regular expression this is exponential in the stars (it froze the server's event loop).
    const glob = new Glob(`${"*a".repeat(40)}*b`);
    const name = `src/${"a".repeat(4000)}.py`;
    expect(glob.matches(name)).toBe(false);
    expect(new Glob(`${"*a".repeat(40)}*`).matches(name)).toBe(true);
  });
});
