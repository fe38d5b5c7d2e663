import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** A small Python project like the ones the README's examples use: src/ with modules, tests/ with pytest modules. */
export function writeSampleProject(root: string): void {
  const files: Record<string, string> = {
    "README.md": "# sample\n",
    "src/pkg/__init__.py": "",
    "src/pkg/clean.py": "def add(a, b):\n    return a + b\n",
    "src/pkg/tabs.py": "def f():\n\treturn 1\n",
    "src/pkg/trailing.py": "x = 1   \n",
    "tests/test_ok.py": "def test_one():\n    assert 1 + 1 == 2\n\ndef test_two():\n    assert True\n",
    "tests/test_mixed.py":
      "import pytest\n\ndef test_pass():\n    assert True\n\ndef test_fail():\n    assert 1 == 2\n\n@pytest.mark.skip\ndef test_skip():\n    pass\n",
    "tests/test_empty.py": "# no tests here\n",
    "js/ok.test.mjs":
      "import test from 'node:test';\ntest('a', () => {});\ntest('b', () => {});\ntest('c', { skip: true }, () => {});\n",
    "js/bad.test.mjs":
      "import test from 'node:test';\nimport assert from 'node:assert';\ntest('a', () => {});\ntest('b', () => assert.equal(1, 2));\n",
  };
  for (let i = 0; i < 10; i++) files[`src/module_${i}.py`] = `VALUE = ${i}\n`;
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}
