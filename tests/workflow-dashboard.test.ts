import type { Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { type Reply, userTask } from "./fixtures/fake-ollama.js";
import { agentApp, fakeOllama } from "./helpers/agent-app.js";
import { chromiumPresent, launchChromium } from "./helpers/chromium.js";
import { waitForJobEnd } from "./helpers/test-app.js";
import { threeStepPipeline } from "./helpers/workflow-pipeline.js";

const CODER = "qwen2.5-coder:7b";

/** A coder that never answers (the workflow's first step stays running until cancelled). */
const hold = (): Reply => ({ content: "…", delayMs: 600_000 });

describe("dashboard: a workflow drawn as its steps, in headless Chromium", () => {
  const enabled = chromiumPresent();
  let browser: Browser | null = null;
  afterAll(async () => {
    await browser?.close();
  });

  it.runIf(enabled)(
    "shows each step's status live, cancels it, links to its jobs, and a job links back to its workflow",
    async () => {
      const ollama = await fakeOllama([CODER]);
      ollama.script(CODER, hold);
      const { t } = await agentApp(ollama.url);
      const res = await t.request(
        "POST",
        "/batch/workflows",
        threeStepPipeline("pipeline", "write m.py (slow)"),
      );
      expect(res.status).toBe(200);
      const id = res.body.workflow_id as string;
      await ollama.waitForRequest((s) => userTask(s.body).includes("slow"));
      browser ??= await launchChromium();
      const page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${t.url}/`);
      // The job list shows the recent workflows.
      await page.locator(`#workflowRows a[href="#/workflows/${id}"]`).click();
      await page.locator('#workflowSteps [data-step="implement"]').waitFor();
      expect(await page.locator("#workflowTitle").textContent()).toBe(`pipeline (${id})`);
      // The name is isolated: a right-to-left mark in it could not turn the id around.
      expect(await page.locator("#workflowTitle bdi").textContent()).toBe("pipeline");
      // implement first, validate after it, test after validate: a column each.
      expect(
        await page
          .locator('.step-col[data-depth="0"] .step')
          .evaluateAll((e) => e.map((x) => x.getAttribute("data-step"))),
      ).toEqual(["implement"]);
      expect(
        await page
          .locator('.step-col[data-depth="1"] .step')
          .evaluateAll((e) => e.map((x) => x.getAttribute("data-step"))),
      ).toEqual(["validate"]);
      expect(
        await page
          .locator('.step-col[data-depth="2"] .step')
          .evaluateAll((e) => e.map((x) => x.getAttribute("data-step"))),
      ).toEqual(["test"]);
      const status = (step: string) =>
        page.locator(`#workflowSteps [data-step="${step}"] .badge`).textContent();
      expect(await status("implement")).toBe("running");
      expect(await status("validate")).toBe("queued");
      // Cancelled from the view: it follows the jobs' events to the end.
      page.on("dialog", (d) => void d.accept());
      await page.locator("#workflowCancel").click();
      await expect
        .poll(() => page.locator("#workflowStatus .badge").textContent(), { timeout: 15_000 })
        .toBe("cancelled");
      for (const step of ["implement", "validate", "test"])
        await expect.poll(() => status(step), { timeout: 15_000 }).toBe("cancelled");
      expect(await page.locator("#workflowCancel").isDisabled()).toBe(true);
      for (const step of res.body.steps) await waitForJobEnd(t, step.job_id);
      // A step links to its job, whose page links back to the workflow.
      await page.locator('#workflowSteps [data-step="validate"] a.step-job').click();
      await page.locator("#jobWorkflow a").waitFor();
      expect(await page.locator("#jobWorkflow").textContent()).toBe(`step validate of workflow ${id}`);
      await page.locator("#jobWorkflow a").click();
      await page.locator('#workflowSteps [data-step="test"]').waitFor();
      await page.close();
    },
  );
});
