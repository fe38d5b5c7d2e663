import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { GateProcessor } from "./fixtures/test-processors.js";
import { chromiumPresent, launchChromium } from "./helpers/chromium.js";
import { startTestApp, waitForJobEnd } from "./helpers/test-app.js";

const OUTPUT = join(import.meta.dirname, "..", "test-output");

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

      browser = await launchChromium();
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

  it.runIf(enabled)(
    "shows each item's status word, failure reason and error, in the old and new shapes",
    async () => {
      const t = await startTestApp({
        register: (r) =>
          r.register("batch_validation", {
            processItem: async (item) => {
              switch (item.id) {
                case "ok":
                  return { status: "succeeded", label: "passed", fields: { stdout: "1 passed\n" } };
                case "slow":
                  return {
                    status: "failed",
                    label: "failed",
                    error: "timed out after 5 s",
                    fields: { failure: "timeout", stdout: "collecting\nrunning test_slow" },
                  };
                default:
                  return { status: "failed", label: "error", error: "check program not found: ruff" };
              }
            },
          }),
      });
      const res = await t.request("POST", "/batch/validation", {
        targets: [
          { id: "ok", path: "a.py" },
          { id: "slow", path: "b.py" },
          { id: "old", path: "c.py" },
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
      expect(await row("slow").locator(".out-stdout pre").textContent()).toBe(
        "collecting\nrunning test_slow",
      );
      expect(await row("slow").locator("button.rerun").count()).toBe(1);
      expect(await row("old").locator(".badge.b-bad").textContent()).toBe("error");
      expect(await row("old").locator(".badge.reason").count()).toBe(0);
      expect(await row("old").locator(".errtext").textContent()).toBe("check program not found: ruff");
      await page.close();
    },
  );
});
