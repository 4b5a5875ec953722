// The dashboard page in a browser test: sign in, wait for what the page shows (a timeout prints the
// page's text), the event feed's newest sequence number, and screenshots (PHALANX_SCREENSHOTS=1,
// under docs/dashboard/). Shared by server/dashboard/dashboard-browser.test.ts and
// server/dashboard/failover-everywhere.test.ts.
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";

/**
 * The few DOM names the functions given to page.waitForFunction/evaluate use (they run in the
 * browser; the project's TypeScript lib has no DOM). A test file declares
 * `declare const document: PageDocument;` to write such functions.
 */
export interface PageElement {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
export interface PageDocument {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  getElementById(id: string): PageElement | null;
}
declare const document: PageDocument;

const SCREENSHOTS = process.env.PHALANX_SCREENSHOTS === "1";
const SCREENSHOT_DIR = fileURLToPath(new URL("../../docs/dashboard/", import.meta.url));
/** Longest the page may take to show a change the cluster has made (the issue asks for 2 s; slow CI gets more). */
export const PAGE_DEADLINE_MS = 10_000;

/** Saves a full-page screenshot as docs/dashboard/`name`.png when PHALANX_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}

/**
 * Waits until `predicate` (run in the page) returns a truthy value and returns that value; on
 * timeout the error names what was awaited and carries the page's text.
 */
export async function pageShows<A, R>(page: Page, what: string, predicate: (arg: A) => R, arg: A, timeoutMs = PAGE_DEADLINE_MS): Promise<R> {
  try {
    // The argument and the result cross as JSON (numbers, strings, plain objects here).
    const handle = await page.waitForFunction(predicate as (arg: unknown) => R, arg as unknown, { timeout: timeoutMs });
    return (await handle.jsonValue()) as R;
  } catch (err) {
    const text = await page.locator("body").innerText().catch(() => "(page unreadable)");
    throw new Error(`The page did not show ${what} within ${timeoutMs} ms (${(err as Error).message.split("\n")[0]})\n--- the page ---\n${text.slice(0, 5000)}`);
  }
}

/** The newest event sequence number the page lists. */
export function newestSeq(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, ...[...document.querySelectorAll("#events li")].map((li) => Number(li.getAttribute("data-seq")))));
}

/** True in the page when an event matching `selector` newer than `after` is listed. */
export function eventAfter({ selector, after }: { selector: string; after: number }): boolean {
  return [...document.querySelectorAll(`#events li${selector}`)].some((li) => Number(li.getAttribute("data-seq")) > after);
}

/** Signs in with `token` on a fresh page of node `endpoint`'s dashboard. */
export async function openDashboard(browser: Browser, endpoint: string, token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://${endpoint}/dashboard`);
  await page.fill("#token", token);
  await page.click("#login-submit");
  return page;
}

/** Opens the dashboard of `endpoint` and waits until it lists `nodes` nodes up. */
export async function openDashboardShowingNodes(browser: Browser, endpoint: string, token: string, nodes: number): Promise<Page> {
  const page = await openDashboard(browser, endpoint, token);
  await pageShows(page, `${nodes} nodes up`, (n) => document.querySelectorAll('#nodes tr[data-state="up"]').length === n, nodes);
  return page;
}
