import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { GateProcessor } from "./fixtures/test-processors.js";
import { requirePart } from "./helpers/requirements.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const CHROMIUM = "/usr/bin/chromium";
const OUTPUT = join(import.meta.dirname, "..", "test-output");

describe("dashboard in headless Chromium", () => {
  const enabled = requirePart(
    "Chromium",
    existsSync(CHROMIUM),
    "apt-get install -y chromium (Debian's /usr/bin/chromium)",
  );
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
                : { status: "succeeded", label: "passed" },
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

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on("dialog", (d) => void d.accept());
      await page.goto(`${t.url}/`);
      // The key is asked once and kept in sessionStorage.
      await page.locator("#keyModal:not(.hidden)").waitFor();
      await page.fill("#keyInput", "dash-key");
      await page.click("#keySave");
      const row = page.locator(`tr[data-job="${running.body.job_id}"]`);
      await row.waitFor();
      await expect.poll(() => page.locator("#live").textContent()).toBe("live");
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem("ollama-coder-key"))).toBe(
        "dash-key",
      );
      expect(await row.locator("td").nth(4).textContent()).toBe("0 / 20");

      // Live progress: items finish on the server; the row follows without a reload.
      for (let i = 0; i < 3; i++) {
        gate.releaseWaiting();
        await t.app.events.waitFor("job:progress", (p) => p.jobId === running.body.job_id);
      }
      await expect
        .poll(async () => Number((await row.locator("td").nth(4).textContent())?.split(" / ")[0]), {
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
    },
  );

  it.runIf(enabled)("shows an isolated task's branch and lets its diff be opened", async () => {
    const t = await startTestApp({
      register: (r) =>
        r.register("batch_agent_tasks", {
          processItem: async () => ({
            status: "succeeded",
            label: "completed",
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
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
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
});
