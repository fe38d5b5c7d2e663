import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { requirePart } from "./requirements.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is there (a skip with a message, or a failure under CI). */
export const chromiumPresent = (): boolean =>
  requirePart("Chromium", existsSync(CHROMIUM), "apt-get install -y chromium (Debian's /usr/bin/chromium)");

/** Debian's headless Chromium, as quiet as it goes (no downloads, no background traffic). */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
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
