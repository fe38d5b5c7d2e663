import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { toolResults } from "./fixtures/fake-ollama.js";
import { GateProcessor } from "./fixtures/test-processors.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { chromiumPresent, launchChromium } from "./helpers/chromium.js";
import { tempDir } from "./helpers/temp.js";
import { startTestApp, type TestApp, waitForJobEnd } from "./helpers/test-app.js";

const OUTPUT = join(import.meta.dirname, "..", "test-output");
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

describe("dashboard in headless Chromium", () => {
  const enabled = chromiumPresent();
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it.runIf(enabled)(
    "loads with an API key, shows a job progress live, cancels one, retries failed items; saves a screenshot",
    async () => {
      const gate = new GateProcessor();
      const t = await startTestApp({
        config: { apiKeys: "dash-key", workers: 3 },
        register: (r) => {
          r.register("batch_validation", gate);
          r.register("batch_tests", {
            processItem: async (item) =>
              String(item.path).includes("bad")
                ? { status: "failed", error: "2 tests failed" }
                : { status: "succeeded" },
          });
        },
      });
      const auth = { authorization: "Bearer dash-key" };
      // A job that ended with failed items (for retry), and a running one (for live progress and cancel).
      const tests = await t.request(
        "POST",
        "/batch/tests",
        {
          modules: [
            { id: "ok", path: "tests/test_ok.py" },
            { id: "bad", path: "tests/test_bad.py" },
          ],
        },
        auth,
      );
      await waitForJobEnd(t, tests.body.job_id);
      const running = await t.request(
        "POST",
        "/batch/validation",
        {
          targets: Array.from({ length: 20 }, (_, i) => ({ id: `f${i}`, path: `src/f${i}.py` })),
          parallel: 2,
        },
        auth,
      );
      await gate.startedAtLeast(2);

      browser ??= await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${t.url}/`);
      // The key is asked once and kept in sessionStorage.
      await page.locator("#keyModal:not(.hidden)").waitFor();
      expect(await page.locator("#keyButton").isVisible()).toBe(true); // auth on: the key can be changed
      await page.fill("#keyInput", "dash-key");
      await page.click("#keySave");
      const row = page.locator(`tr[data-job="${running.body.job_id}"]`);
      await row.waitFor();
      await expect.poll(() => page.locator("#live").textContent()).toBe("live");
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem("ollama-coder-key"))).toBe(
        "dash-key",
      );
      expect(await row.locator("td").nth(5).textContent()).toBe("0 / 20");
      expect(await row.locator("td.priority").textContent()).toBe("0");

      // Live progress: items finish on the server; the row follows without a reload.
      for (let i = 0; i < 3; i++) {
        gate.releaseWaiting();
        await t.app.events.waitFor("job:progress", (p) => p.jobId === running.body.job_id);
      }
      await expect
        .poll(async () => Number((await row.locator("td").nth(5).textContent())?.split(" / ")[0]), {
          timeout: 10_000,
        })
        .toBeGreaterThanOrEqual(4);
      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });

      // Open the running job and cancel it.
      await row.click();
      await page.locator("#jobView:not(.hidden)").waitFor();
      await page.locator("#itemRows tr").first().waitFor();
      await page.click("#cancelButton");
      await expect
        .poll(() => page.locator("#jobStatus .badge").textContent(), { timeout: 10_000 })
        .toBe("cancelled");
      expect(
        (await t.request("GET", `/batch/jobs/${running.body.job_id}?include_results=false`, undefined, auth))
          .body.status,
      ).toBe("cancelled");
      await expect
        .poll(() => page.locator("#itemRows .s-cancelled").count(), { timeout: 10_000 })
        .toBeGreaterThan(0);
      // The bar counts the items that will not run now as cancelled, not as remaining; they can be re-run.
      expect(await page.locator("#jobBar .bar").getAttribute("aria-label")).toMatch(/ 0 remaining of 20$/);
      expect(Number(await page.locator("#jobBar .seg-off").getAttribute("data-count"))).toBeGreaterThan(0);
      expect(await page.locator("#itemRows tr:has(.s-cancelled) button.rerun").count()).toBeGreaterThan(0);
      await page.screenshot({ path: join(OUTPUT, "dashboard-job.png"), fullPage: true });

      // Retry the failed items of the ended job.
      await page.goto(`${t.url}/#/jobs/${tests.body.job_id}`);
      await page.locator('#itemRows tr[data-item="bad"]').waitFor();
      expect(await page.locator("#itemRows tr").first().getAttribute("data-item")).toBe("bad"); // failed first
      await page.click("#retryButton");
      await expect
        .poll(() => page.evaluate(() => (globalThis as any).location.hash as string), { timeout: 10_000 })
        .toMatch(/^#\/jobs\/batch_tests-[0-9a-f]{12}$/);
      const retryId = (await page.evaluate(() => (globalThis as any).location.hash as string)).slice(
        "#/jobs/".length,
      );
      expect(retryId).not.toBe(tests.body.job_id);
      await waitForJobEnd(t, retryId);
      const retried = (await t.request("GET", `/batch/jobs/${retryId}`, undefined, auth)).body;
      expect(retried.metadata.retry_of).toBe(tests.body.job_id);
      expect(retried.result.results.map((r: { id: string }) => r.id)).toEqual(["bad"]);
      gate.release();

      // What the page needs before it has the key is served without one; the rest is not.
      for (const path of ["/", "/dashboard.js", "/favicon.ico"])
        expect((await t.request("GET", path)).status, path).toBe(200);
      expect((await t.request("GET", "/openapi.json")).status).toBe(401);
      // Swagger UI offers "Authorize" when calls need a key.
      const docs = await browser.newPage({ extraHTTPHeaders: auth });
      await docs.goto(`${t.url}/docs`);
      await docs.locator(".swagger-ui .btn.authorize").waitFor();
      await docs.close();
    },
  );

  it.runIf(enabled)("shows an isolated task's branch and lets its diff be opened", async () => {
    const t = await startTestApp({
      register: (r) =>
        r.register("batch_agent_tasks", {
          processItem: async () => ({
            status: "succeeded",
            fields: {
              branch: "ollama-coder/job/t1",
              diff: "--- a/calc.py\n+++ b/calc.py\n+def sub(a, b):\n",
              apply: { status: "merged" },
            },
          }),
        }),
    });
    const res = await t.request("POST", "/batch/agent-tasks", {
      tasks: [{ id: "t1", description: "Add sub" }],
    });
    await waitForJobEnd(t, res.body.job_id);
    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${t.url}/#/jobs/${res.body.job_id}`);
    const row = page.locator('#itemRows tr[data-item="t1"]');
    await row.waitFor();
    expect(await row.locator("code.branch").textContent()).toBe("ollama-coder/job/t1");
    expect(await row.locator("td").last().textContent()).toContain("merged");
    await row.locator("details.diff summary").click();
    expect(await row.locator("details.diff pre").textContent()).toContain("+def sub(a, b):");
    await page.close();
  });

  it.runIf(enabled)("marks an item answered from the result cache, with the job it came from", async () => {
    const t = await startTestApp({
      register: (r) =>
        r.register("batch_validation", {
          cacheKey: async (item) => ({ path: item.path as string }),
          processItem: async () => ({ status: "succeeded", fields: { stdout: "1 passed\n" } }),
        }),
    });
    const submit = async () => {
      const res = await t.request("POST", "/batch/validation", {
        targets: [{ id: "a", path: "a.py" }],
        cache: true,
      });
      await waitForJobEnd(t, res.body.job_id);
      return res.body.job_id as string;
    };
    const first = await submit();
    const second = await submit();
    browser ??= await launchChromium();
    const page = await browser.newPage();
    const row = page.locator('#itemRows tr[data-item="a"]');
    await page.goto(`${t.url}/#/jobs/${first}`);
    await row.waitFor();
    expect(await row.locator(".badge.cached").count()).toBe(0);
    await page.goto(`${t.url}/#/jobs/${second}`);
    await page.locator(`#itemRows tr[data-item="a"] .badge.cached`).waitFor();
    expect(await row.locator(".badge").first().textContent()).toBe("passed");
    expect(await row.locator(".badge.cached").textContent()).toBe("cached");
    expect(await row.locator(".badge.cached").getAttribute("title")).toBe(
      `answered from the result of job ${first}`,
    );
    await page.close();
  });

  it.runIf(enabled)("shows each item's status word, failure reason and error", async () => {
    const t = await startTestApp({
      register: (r) =>
        r.register("batch_validation", {
          processItem: async (item) => {
            switch (item.id) {
              case "ok":
                return { status: "succeeded", fields: { stdout: "1 passed\n" } };
              case "slow":
                return {
                  status: "failed",
                  failure: "timeout",
                  error: "timed out after 5 s",
                  fields: { stdout: "collecting\nrunning test_slow" },
                };
              default:
                return { status: "failed", failure: "not_found", error: "check program not found: ruff" };
            }
          },
        }),
    });
    const res = await t.request("POST", "/batch/validation", {
      targets: [
        { id: "ok", path: "a.py" },
        { id: "slow", path: "b.py" },
        { id: "gone", path: "c.py" },
      ],
    });
    await waitForJobEnd(t, res.body.job_id);
    browser ??= await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${t.url}/#/jobs/${res.body.job_id}`);
    const row = (id: string) => page.locator(`#itemRows tr[data-item="${id}"]`);
    await row("ok").waitFor();
    expect(await row("ok").locator(".badge").first().textContent()).toBe("passed");
    expect(await row("ok").locator(".badge.b-ok").count()).toBe(1);
    expect(await row("ok").locator("button.rerun").count()).toBe(0);
    expect(await row("slow").locator(".badge.b-bad").textContent()).toBe("failed");
    expect(await row("slow").locator(".badge.reason").textContent()).toBe("timeout");
    expect(await row("slow").locator(".errtext").textContent()).toBe("timed out after 5 s");
    expect(await row("slow").locator(".out-stdout pre").textContent()).toBe("collecting\nrunning test_slow");
    expect(await row("slow").locator("button.rerun").count()).toBe(1);
    expect(await row("gone").locator(".badge.b-bad").textContent()).toBe("failed");
    expect(await row("gone").locator(".badge.reason").textContent()).toBe("not_found");
    expect(await row("gone").locator(".errtext").textContent()).toBe("check program not found: ruff");
    await page.close();
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

      browser ??= await launchChromium();
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
      await expect.poll(() => visibleRows(page, "itemRows", "data-item")).toBe(1);
      await page.fill("#itemSearch", "syntaxerror");
      await expect.poll(() => visibleRows(page, "itemRows", "data-item")).toBe(6);
      expect(await page.locator("#pageInfo").textContent()).toBe("searched 36 of 36");
      await page.fill("#itemSearch", "");
      await expect.poll(() => page.locator("#pageInfo").textContent()).toBe("1–36 of 36");
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
