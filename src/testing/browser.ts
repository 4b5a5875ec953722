// Headless Chromium for the dashboard's browser tests: Debian's `chromium` driven by playwright-core
// (no browser download). Where Chromium is missing the tests skip with the reason printed, except
// where PHALANX_BROWSER_REQUIRED=1 (CI installs it): there they run and fail on the missing browser.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** The browser used; PHALANX_CHROMIUM overrides Debian's path. */
export const CHROMIUM_PATH = process.env.PHALANX_CHROMIUM ?? "/usr/bin/chromium";

/** The `skip` option for a browser test: the reason (printed) when it must skip, else false. */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  if (process.env.PHALANX_BROWSER_REQUIRED === "1") return false;
  const reason = `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install chromium) or set PHALANX_CHROMIUM to run the browser tests`;
  process.stdout.write(`# skipping browser tests: ${reason}\n`);
  return reason;
}

/** Launches headless Chromium; throws a precise error when it is missing (PHALANX_BROWSER_REQUIRED=1). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`PHALANX_BROWSER_REQUIRED=1 but ${CHROMIUM_PATH} does not exist: install Debian's chromium (apt-get install chromium) or set PHALANX_CHROMIUM`);
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}
