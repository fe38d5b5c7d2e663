import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { toolResults } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { chromiumPresent, launchChromium } from "./helpers/chromium.js";
import { tempDir } from "./helpers/temp.js";
import { type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const DOCS = join(import.meta.dirname, "..", "docs");
const HOSTILE = `x = "<script>window.__pwned=1</script>" <img src=x onerror=window.__pwned=2>`;

/** A git project: 30 modules that compile, 6 that do not (one with markup in its broken line), calc.py. */
function writeProject(root: string): void {
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < 30; i++) writeFileSync(join(root, `ok_${i}.py`), `VALUE = ${i}\n`);
  writeFileSync(join(root, "bad_0.py"), `${HOSTILE}\n`);
  for (let i = 1; i < 6; i++) writeFileSync(join(root, `bad_${i}.py`), `def broken_${i}(:\n    pass\n`);
  writeFileSync(join(root, "calc.py"), "def add(a, b):\n    return a + b\n");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: root });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-qm", "start");
}

const COMPILE = "python3 -m py_compile";

async function submit(t: TestApp, path: string, body: unknown): Promise<string> {
  const res = await t.request("POST", path, body);
  expect(res.status, res.text).toBe(200);
  return res.body.job_id as string;
}

/** Rows of a table body that the search leaves visible. */
const visibleRows = (page: Page, body: string, attr: string) =>
  page.locator(`#${body} tr[${attr}]:not(.hidden)`).count();

describe("dashboard: outputs, diffs, transcripts, counts, search, re-run, forms (Chromium, real jobs)", () => {
  const enabled = chromiumPresent();
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it.runIf(enabled)(
    "tells each job's whole story, readably and safely",
    async () => {
      const ollama = await fakeOllama();
      ollama.script("qwen2.5-coder:7b", (b) =>
        toolResults(b).length > 0
          ? { content: "Added sub(a, b) to calc.py.", promptTokens: 300, evalTokens: 12 }
          : {
              content: "I will add the function.",
              toolCalls: [
                {
                  name: "write_file",
                  arguments: {
                    path: "calc.py",
                    content: "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
                  },
                },
              ],
              promptTokens: 250,
              evalTokens: 60,
            },
      );
      const dir = tempDir();
      writeProject(join(dir, "project"));
      const { t } = await agentApp(ollama.url, { workers: 3 }, dir);

      const modules = [
        ...Array.from({ length: 30 }, (_, i) => `ok_${i}`),
        ...Array.from({ length: 6 }, (_, i) => `bad_${i}`),
      ];
      const sixOf36 = await submit(t, "/batch/validation", {
        targets: modules.map((m) => ({ id: m, path: `${m}.py` })),
        check_command: COMPILE,
        parallel: 4,
      });
      const allFailed = await submit(t, "/batch/validation", {
        targets: [
          { id: "b1", path: "bad_1.py" },
          { id: "b2", path: "bad_2.py" },
        ],
        check_command: COMPILE,
      });
      const oneFailed = await submit(t, "/batch/tests", {
        modules: [
          { id: "t-ok", path: "ok_0.py" },
          { id: "t-bad", path: "bad_1.py" },
        ],
        test_command: COMPILE,
      });
      const agent = await submit(t, "/batch/agent-tasks", {
        tasks: [{ id: "sub", description: "Add sub(a, b) to calc.py" }],
        check_command: "python3 -m py_compile calc.py",
        reviewer_model: null,
      });
      const mcp = await submit(t, "/batch/mcp-operations", {
        operations: [
          { id: "count", type: "command", command: "seq 1 200" },
          { id: "read-hostile", type: "read", path: "bad_0.py" },
        ],
      });
      for (const id of [sixOf36, allFailed, oneFailed, agent, mcp]) await waitForJobEnd(t, id, 60_000);
      expect((await t.request("GET", `/batch/jobs/${agent}`)).body.status).toBe("completed");

      browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      mkdirSync(DOCS, { recursive: true });

      // The list: no auth controls with auth off; a failed column; bars that tell 6 of 36 from 2 of 2.
      await page.goto(`${t.url}/`);
      await page.locator(`tr[data-job="${sixOf36}"]`).waitFor();
      await expect.poll(() => page.locator("#live").textContent()).toBe("live");
      expect(await page.locator("#keyButton").isHidden()).toBe(true);
      const row = (id: string) => page.locator(`tr[data-job="${id}"]`);
      expect(await row(sixOf36).locator("td.failed").textContent()).toBe("6");
      expect(await row(allFailed).locator("td.failed").textContent()).toBe("2");
      expect(await row(agent).locator("td.failed").textContent()).toBe("0");
      expect(await row(sixOf36).locator(".bar").getAttribute("aria-label")).toBe(
        "30 succeeded, 6 failed, 0 cancelled or skipped, 0 remaining of 36",
      );
      const width = (id: string, seg: string) =>
        row(id)
          .locator(`.bar .${seg}`)
          .evaluate((e) => Number.parseFloat((e as unknown as { style: { width: string } }).style.width));
      expect(await width(sixOf36, "seg-bad")).toBeCloseTo((100 * 6) / 36, 1);
      expect(await width(sixOf36, "seg-ok")).toBeCloseTo((100 * 30) / 36, 1);
      expect(await width(allFailed, "seg-bad")).toBe(100);
      // The icon: linked, served as SVG, allowed by the page's policy (the header shows it).
      expect(await page.locator('link[rel="icon"]').getAttribute("href")).toBe("/favicon.ico");
      const icon = await t.request("GET", "/favicon.ico");
      expect(icon.status).toBe(200);
      expect(icon.headers.get("content-type")).toBe("image/svg+xml");
      expect(icon.text.startsWith("<svg")).toBe(true);
      await expect
        .poll(() =>
          page
            .locator("header h1 img")
            .evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
        )
        .toBeGreaterThan(0);
      // Search: by id, by type, by status.
      await page.fill("#jobSearch", oneFailed);
      expect(await visibleRows(page, "jobRows", "data-job")).toBe(1);
      await page.fill("#jobSearch", "batch_validation");
      expect(await visibleRows(page, "jobRows", "data-job")).toBe(2);
      await page.fill("#jobSearch", "completed");
      expect(await visibleRows(page, "jobRows", "data-job")).toBe(2); // the agent task and the MCP operations
      await page.fill("#jobSearch", "");
      expect(await visibleRows(page, "jobRows", "data-job")).toBe(5);
      await page.screenshot({ path: join(DOCS, "dashboard.png") });

      // A job's failed items: tracebacks as text with their newlines, markup in them shown, never run.
      await page.goto(`${t.url}/#/jobs/${sixOf36}`);
      const bad0 = page.locator('#itemRows tr[data-item="bad_0"]');
      await bad0.waitFor();
      expect(await page.locator("#jobBar .bartext").textContent()).toBe(
        "30 ok · 6 failed · 0 not run · 0 left",
      );
      const stderr = bad0.locator(".out-stderr pre");
      const text = (await stderr.textContent()) ?? "";
      expect(text).toContain("SyntaxError");
      expect(text).toContain("\n");
      expect(text).not.toContain("\\n");
      expect(text).toContain('<script>window.__pwned=1</script>" <img src=x onerror=window.__pwned=2>');
      const style = await stderr.evaluate((e) => {
        const s = (globalThis as any).getComputedStyle(e);
        return {
          font: s.fontFamily as string,
          space: s.whiteSpace as string,
          overflow: s.overflowY as string,
        };
      });
      expect(style.font).toMatch(/monospace/);
      expect(style.space).toBe("pre");
      expect(style.overflow).toBe("auto");
      expect(await page.locator("#itemRows script, #itemRows img").count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
      expect(await bad0.locator(".badge.b-bad").count()).toBe(1);
      // Search the items: by id, by text of the output.
      await page.fill("#itemSearch", "bad_3");
      expect(await visibleRows(page, "itemRows", "data-item")).toBe(1);
      await page.fill("#itemSearch", "syntaxerror");
      expect(await visibleRows(page, "itemRows", "data-item")).toBe(6);
      await page.fill("#itemSearch", "");
      await page.screenshot({ path: join(DOCS, "dashboard-job.png") });

      // Long outputs are cut, with "show all"; a read file's markup stays text.
      await page.goto(`${t.url}/#/jobs/${mcp}`);
      const count = page.locator('#itemRows tr[data-item="count"]');
      await count.waitFor();
      const out = count.locator(".out-stdout pre");
      expect(((await out.textContent()) ?? "").split("\n")).toHaveLength(40);
      await count.locator("button.showall").click();
      expect(((await out.textContent()) ?? "").trim().split("\n")).toHaveLength(200);
      expect(
        await page.locator('#itemRows tr[data-item="read-hostile"] .out-content pre').textContent(),
      ).toBe(`${HOSTILE}\n`);
      expect(await page.locator("#itemRows script, #itemRows img").count()).toBe(0);

      // An agent task: its transcript as a conversation, its diff coloured, its tokens.
      await page.goto(`${t.url}/#/jobs/${agent}`);
      const task = page.locator('#itemRows tr[data-item="sub"]');
      await task.waitFor();
      await task.locator("details.transcript > summary").click();
      const call = task.locator(".msg.r-assistant .toolcall").first();
      expect(await call.locator(".name").textContent()).toBe("write_file");
      expect(await call.locator(".args dd").first().textContent()).toBe("calc.py");
      expect(await call.locator(".args .out-content pre").textContent()).toContain("\ndef sub(a, b):\n");
      expect(await task.locator(".msg.r-user").first().textContent()).toContain("Add sub(a, b) to calc.py");
      expect(await task.locator(".msg.r-tool").count()).toBeGreaterThan(0);
      expect(await task.locator(".msg.r-assistant").last().textContent()).toContain(
        "Added sub(a, b) to calc.py.",
      );
      await task.locator("details.diff > summary").click();
      expect(await task.locator(".diff .add").allTextContents()).toContain("+def sub(a, b):\n");
      expect(await task.locator(".diff .hunk").count()).toBeGreaterThan(0);
      expect(await task.locator(".diff .meta").count()).toBeGreaterThan(0);
      await task.locator("details.usage > summary").click();
      expect(await task.locator(".usage-table").textContent()).toContain("qwen2.5-coder:7b");
      await page.screenshot({ path: join(DOCS, "dashboard-agent.png"), fullPage: true });

      // Re-run one failed item: a new job with that item only.
      await page.goto(`${t.url}/#/jobs/${oneFailed}`);
      await page.locator('#itemRows tr[data-item="t-bad"]').waitFor();
      expect(await page.locator('#itemRows tr[data-item="t-ok"] button.rerun').count()).toBe(0);
      await page.locator('#itemRows tr[data-item="t-bad"] button.rerun').click();
      await expect
        .poll(() => page.evaluate(() => (globalThis as any).location.hash as string))
        .toMatch(/^#\/jobs\/batch_tests-[0-9a-f]{12}$/);
      const rerun = (await page.evaluate(() => (globalThis as any).location.hash as string)).slice(7);
      expect(rerun).not.toBe(oneFailed);
      await waitForJobEnd(t, rerun);
      const retried = (await t.request("GET", `/batch/jobs/${rerun}`)).body;
      expect(retried.metadata.retry_of).toBe(oneFailed);
      expect(retried.result.results.map((r: { id: string }) => r.id)).toEqual(["t-bad"]);

      // A form for every kind the server registers, from its schemas; submit a validation job with it.
      await page.goto(`${t.url}/#/`);
      await page.locator("#submitPanel > summary").click();
      expect(
        await page.locator("#submitKind option").evaluateAll((os) => os.map((o) => (o as any).value)),
      ).toEqual(["batch_agent_tasks", "batch_validation", "batch_tests", "batch_mcp"]);
      expect(await page.locator('#submitOptions [name="coder_model"]').getAttribute("placeholder")).toBe(
        "qwen2.5-coder:7b",
      );
      await page.selectOption("#submitKind", "batch_mcp");
      expect(
        await page
          .locator('#submitItems select[name="type"] option')
          .evaluateAll((os) => os.map((o) => o.textContent)),
      ).toEqual(["read", "write", "list", "command"]);
      await page.selectOption("#submitKind", "batch_validation");
      await page.fill('#submitOptions [name="check_command"]', COMPILE);
      await page.fill('#submitItems [name="id"]', "from-form");
      await page.fill('#submitItems [name="path"]', "ok_1.py");
      await page.click("#addItem");
      await page.locator("#submitItems .itemrow").nth(1).locator('[name="path"]').fill("ok_2.py");
      await page.screenshot({ path: join(DOCS, "dashboard-submit.png") });
      await page.click("#submitButton");
      await expect
        .poll(() => page.evaluate(() => (globalThis as any).location.hash as string))
        .toMatch(/^#\/jobs\/batch_validation-[0-9a-f]{12}$/);
      const formJob = (await page.evaluate(() => (globalThis as any).location.hash as string)).slice(7);
      await waitForJobEnd(t, formJob);
      const submitted = (await t.request("GET", `/batch/jobs/${formJob}`)).body;
      expect(submitted.status).toBe("completed");
      expect(submitted.result.results.map((r: { id: string }) => r.id)).toEqual(["from-form", "op-1"]);
      // A refused submit says why, in the form.
      await page.goto(`${t.url}/#/`);
      await page.locator("#listView:not(.hidden)").waitFor();
      await page.locator("#submitPanel").evaluate((d) => {
        (d as unknown as { open: boolean }).open = true;
      });
      await page.selectOption("#submitKind", "batch_validation");
      await page.fill('#submitOptions [name="parallel"]', "100000");
      await page.fill('#submitItems [name="path"]', "ok_1.py");
      await page.click("#submitButton");
      await expect.poll(() => page.locator("#submitError").textContent()).toContain("parallel");

      // Swagger UI: no "Authorize" without auth.
      await page.goto(`${t.url}/docs`);
      await page.locator(".swagger-ui .info").waitFor();
      expect(await page.locator(".swagger-ui .btn.authorize").count()).toBe(0);
      expect(problems).toEqual([]);
      await page.close();
    },
    240_000,
  );
});
