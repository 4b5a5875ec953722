// The dashboard in a real browser (headless Debian Chromium through playwright-core) against a real
// 3-node cluster of agent processes running an active-active and an active-standby service: wrong
// tokens are refused and the page says so; the page shows the nodes and services; a drain, a
// leadership transfer and a planned failover clicked (and confirmed) on the page take effect and
// show up in the event feed; kill -9 of the node holding the active shows the node down and the
// failover in the feed without a reload, and the delay from "new active healthy" (seen through the
// API) to "shown on the page" is printed; with the last other node killed, the page (still served)
// says its node has lost the leader. An instance's "log" link shows its output, relayed from its
// node. Skips without Chromium unless PHALANX_BROWSER_REQUIRED=1.
// PHALANX_SCREENSHOTS=1 saves the main views under docs/dashboard/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eventAfter, newestSeq, openDashboard, openDashboardShowingNodes, pageShows, PAGE_DEADLINE_MS, screenshot, type PageDocument } from "../../testing/dashboard-page.js";
import { browserSkip, launchBrowser } from "../../testing/browser.js";
import { applyText, describeService, proxyHost, service, startServicesFixture, waitFor, webService, type ServicesFixture } from "../../testing/services-testkit.js";
import { freePort } from "../../cli/commands/dev.js";
import { activeStandbyService, healthyActive, writeActingApp } from "../../testing/failover-testkit.js";
import { COLD_STANDBY_MESSAGE } from "../services/node-agent.js";
import { waitUntil } from "../../testing/wait.js";

// The functions given to page.waitForFunction/evaluate run in the browser (dashboard-page.ts).
declare const document: PageDocument;
declare const window: Record<string, unknown>;

test("the dashboard in a browser: tokens, nodes, services, every action from the page, kill -9 of the active's node seen live, a node that lost the leader", { skip: browserSkip(), timeout: 240_000 }, async (t) => {
  const f: ServicesFixture = await startServicesFixture();
  t.after(() => f.close());
  const browser = await launchBrowser();
  t.after(() => browser.close());

  const app = await writeActingApp(f);
  const port = await freePort();
  await applyText(f.admin, webService(f, { replicas: 2, extra: `    expose: { listen: 127.0.0.1:${port}, protocol: http }` }) + activeStandbyService(f, app).replace(/^services:\n/, ""));
  await waitFor("web: 2 healthy instances", async () => (await service(f.reader, "web"))?.healthy === 2, 30_000, () => describeService(f.reader, "web"));
  // The active as the API sees it now (under load a fencing lease may lapse and the active move on its own).
  const activeNow = (): Promise<{ node: number; token: number; instance: string }> => waitFor("db: a healthy active", () => healthyActive(f, "db"), 30_000, () => describeService(f.reader, "db"));
  const first = await activeNow();
  const leader = await f.cluster.leader();
  // The page is served by a node that is neither the active's (it is killed later) nor, if possible, the Raft leader.
  const ids = [1, 2, 3].filter((id) => id !== first.node);
  let pageNode = ids.find((id) => id !== leader) ?? ids[0]!;
  const endpoint = f.cluster.endpoints([pageNode])[0]!;
  let victim = 0;

  await t.test("a wrong token and the client token are refused, and the page says so", async () => {
    const page = await openDashboard(browser, endpoint, "not-the-token");
    t.after(() => page.close());
    await page.locator("#login-error").waitFor({ state: "visible", timeout: PAGE_DEADLINE_MS });
    assert.match(await page.locator("#login-error").innerText(), /Token refused \(401\)/);
    assert.equal(await page.locator("#dashboard").isVisible(), false);
    await screenshot(page, "login-refused");
    await page.fill("#token", f.cluster.token);
    await page.click("#login-submit");
    await page.waitForFunction(() => /\(403\)/.test(document.getElementById("login-error")?.textContent ?? ""), undefined, { timeout: PAGE_DEADLINE_MS });
    assert.equal(await page.locator("#nodes tbody tr").count(), 0, "no data rendered for a refused token");
  });

  let page = await openDashboard(browser, endpoint, f.cluster.adminToken);
  t.after(() => page.close());

  await t.test("the page shows the nodes and the services", async () => {
    await pageShows(page, "3 nodes up", () => document.querySelectorAll('#nodes tr[data-state="up"]').length === 3, null);
    const active = (await activeNow()).node;
    await pageShows(page, `db active on node ${active}`, (node) => document.querySelector('#services tr[data-service="db"]')?.getAttribute("data-active-node") === String(node), active);
    await pageShows(page, "web's 2 healthy instances", () => document.querySelectorAll('#instances tr[data-service="web"][data-healthy="true"]').length === 2, null);
    // Requests through this node's proxy show up in its load balancer table.
    const entry = `http://${proxyHost(pageNode)}:${port}/`;
    await waitFor(`node ${pageNode}'s proxy to serve web`, async () => (await fetch(entry, { signal: AbortSignal.timeout(1000) })).status === 200, 20_000);
    // 20 answered requests (an instance restarting under load may make the proxy answer 503 meanwhile; those are not counted).
    let answered = 0;
    for (let k = 0; k < 200 && answered < 20; k++) if ((await fetch(entry).then((r) => r.arrayBuffer().then(() => r.status), () => 0)) === 200) answered++;
    assert.equal(answered, 20);
    await pageShows(page, "the backends up with the 20 requests", () => {
      const rows = [...document.querySelectorAll('#backends tr[data-backend]')];
      return rows.some((r) => r.getAttribute("data-health") === "up") && rows.reduce((n, r) => n + Number(r.getAttribute("data-requests")), 0) >= 20;
    }, null);
    // One clock on this machine: every node's skew is measured and none is highlighted; no node sets a cluster VIP.
    await pageShows(page, "a clock skew within the threshold on all 3 nodes", () =>
      [...document.querySelectorAll("#nodes td.skew")].filter((td) => td.getAttribute("data-skewed") === "false" && /^[+−]\d/.test(td.textContent ?? "")).length === 3, null);
    assert.match(await page.locator("#cluster-vip").innerText(), /not configured/);
    assert.match(await page.locator("#served").innerText(), new RegExp(`node ${pageNode}\\b`));
    assert.equal(await page.locator("#banner-leader-lost").isVisible(), false);
    await screenshot(page, "overview");
  });

  await t.test("an instance's log link shows the records `phalanx logs` prints, also from another node", async () => {
    const web = (await service(f.reader, "web"))!;
    // At most one of web's two instances is on the page's node: the other's log is relayed by it.
    const instances = [...web.instances].sort((a, b) => Number(a.node === pageNode) - Number(b.node === pageNode));
    assert.notEqual(instances[0]!.node, pageNode);
    for (const i of instances) {
      await page.click(`#instances button[data-log="${i.id}"]`);
      await pageShows(page, `the log of ${i.id} (node ${i.node})`, (id) => {
        const panel = document.getElementById("log-panel");
        return panel?.getAttribute("data-instance") === id && panel.getAttribute("data-loaded") === "true" && (document.getElementById("log-text")?.textContent ?? "").includes(`serving ${id} `);
      }, i.id);
      assert.match(await page.locator("#log-status").innerText(), new RegExp(`read from node ${i.node}\\b`));
    }
    await page.click("#log-refresh");
    await pageShows(page, "the log read again", () => document.getElementById("log-panel")?.getAttribute("data-loaded") === "true", null);
    await screenshot(page, "instance-log");
    await page.click("#log-close");
    assert.equal(await page.locator("#log-panel").isVisible(), false);
  });

  await t.test("a drain clicked on the page moves the instances off the node", async () => {
    const active = (await activeNow()).node;
    const web = (await service(f.reader, "web"))!;
    const seq = await newestSeq(page);
    const drained = web.instances.find((i) => i.node !== active && i.healthy)!.node;
    await page.click(`#nodes button[data-action="drain"][data-node="${drained}"]`);
    await page.locator("#confirm").waitFor({ state: "visible" });
    assert.match(await page.locator("#confirm-text").innerText(), new RegExp(`Drain node n${drained}`));
    await screenshot(page, "drain-confirm");
    await page.click("#confirm-ok");
    await pageShows(page, `node ${drained} draining`, (node) => document.querySelector(`#nodes tr[data-node="${node}"]`)?.getAttribute("data-state") === "draining", drained);
    await pageShows(page, "the node_draining event", eventAfter, { selector: `[data-type="node_draining"][data-node="${drained}"]`, after: seq });
    await waitFor(`web: 2 healthy instances, none on drained node ${drained}`, async () => {
      const s = await service(f.reader, "web");
      return s !== undefined && s.healthy === 2 && !s.instances.some((i) => i.node === drained);
    }, 30_000, () => describeService(f.reader, "web"));
    await pageShows(page, `no web instance on node ${drained}`, (node) => document.querySelectorAll(`#instances tr[data-service="web"][data-node="${node}"]`).length === 0, drained);
    // Undrain from the page too, so that the failover below has its standbys back.
    await page.click(`#nodes button[data-action="undrain"][data-node="${drained}"]`);
    await page.click("#confirm-ok");
    await pageShows(page, `node ${drained} up again`, (node) => document.querySelector(`#nodes tr[data-node="${node}"]`)?.getAttribute("data-state") === "up", drained);
    await waitFor("db: the active and two standbys healthy again", async () => (await service(f.reader, "db"))?.instances.filter((i) => i.healthy).length === 3, 30_000, () => describeService(f.reader, "db"));
  });

  await t.test("a leadership transfer clicked on the page moves the leader and is an event", async () => {
    const from = await f.cluster.leader();
    const active = (await activeNow()).node;
    const to = [1, 2, 3].find((id) => id !== from && id !== active)!;
    const seq = await newestSeq(page);
    await page.click(`#nodes button[data-action="transfer"][data-node="${to}"]`);
    assert.match(await page.locator("#confirm-text").innerText(), new RegExp(`Transfer Raft leadership to node n${to}`));
    await page.click("#confirm-ok");
    await pageShows(page, "the leadership_transfer event", eventAfter, { selector: `[data-type="leadership_transfer"][data-node="${to}"]`, after: seq });
    // (Spurious elections under load may move it again later; the transfer itself must show.)
    await pageShows(page, `node ${to} leading`, (node) => document.querySelector(`#nodes tr[data-node="${node}"]`)?.getAttribute("data-raft") === "leader", to);
  });

  await t.test("kill -9 of the active's node: the page shows the node down and the failover without a reload", async () => {
    victim = (await activeNow()).node;
    if (victim === pageNode) {
      // The active moved onto the page's node on its own: follow the failover from a page on another node, opened before the kill.
      pageNode = [1, 2, 3].find((id) => id !== victim)!;
      page = await openDashboardShowingNodes(browser, f.cluster.endpoints([pageNode])[0]!, f.cluster.adminToken, 3);
    }
    await page.evaluate(() => (window.notReloaded = true));
    const lastSeq = await newestSeq(page);
    const shownOnPage = page.waitForFunction(({ victim, lastSeq, cold }) => {
      const active = Number(document.querySelector('#services tr[data-service="db"]')?.getAttribute("data-active-node") ?? 0);
      if (active === 0 || active === victim) return false;
      const row = document.querySelector(`#instances tr[data-service="db"][data-node="${active}"][data-healthy="true"]`);
      if (row === null || row.querySelector("td.message")?.textContent === cold) return false;
      return [...document.querySelectorAll('#events li[data-type="active_promoted"][data-service="db"]')].some((li) => Number(li.getAttribute("data-seq")) > lastSeq);
    }, { victim, lastSeq, cold: COLD_STANDBY_MESSAGE }, { timeout: 30_000 }).then(() => Date.now());
    // Polled every 20 ms (each poll a linearizable read): the page is timed against the first poll that sees it.
    const healthyViaApi = (async () => {
      let active: Awaited<ReturnType<typeof healthyActive>>;
      await waitUntil("db: a new healthy active", async () => (active = await healthyActive(f, "db", victim).catch(() => undefined)) !== undefined, 30_000, 20);
      return { at: Date.now(), active: active! };
    })();
    const killedAt = Date.now();
    await f.cluster.kill(victim);
    const [shownAt, api] = await Promise.all([shownOnPage, healthyViaApi]);
    await pageShows(page, `node ${victim} down`, (node) => document.querySelector(`#nodes tr[data-node="${node}"]`)?.getAttribute("data-state") === "down", victim);
    await pageShows(page, "the node_down event", eventAfter, { selector: `[data-type="node_down"][data-node="${victim}"]`, after: lastSeq });
    assert.equal(await page.evaluate(() => window.notReloaded), true, "the page was not reloaded");
    assert.notEqual(api.active.node, victim);
    process.stdout.write(`# dashboard: new active healthy (API poll) ${api.at - killedAt} ms after kill -9, shown on the page ${shownAt - killedAt} ms after; page delay after healthy ${shownAt - api.at} ms (negative: the page saw it before the API poll did)\n`);
    await screenshot(page, "failover");
  });

  await t.test("a planned failover clicked on the page moves the active and is an event", async () => {
    const before = await waitFor("db: a healthy active", () => healthyActive(f, "db"), 30_000, () => describeService(f.reader, "db"));
    await waitFor("db: a healthy standby on the other surviving node", async () => (await service(f.reader, "db"))?.instances.some((i) => i.node !== before.node && i.node !== victim && i.healthy), 30_000, () => describeService(f.reader, "db"));
    const seq = await newestSeq(page);
    await page.click('#services button[data-action="failover"][data-service="db"]');
    await page.click("#confirm-ok");
    await pageShows(page, "the switchover_requested event", eventAfter, { selector: '[data-type="switchover_requested"][data-service="db"]', after: seq });
    await pageShows(page, `db's active moved off node ${before.node}`, (from) => {
      const active = document.querySelector('#services tr[data-service="db"]')?.getAttribute("data-active-node");
      return active !== undefined && active !== null && active !== "" && active !== String(from);
    }, before.node, 30_000);
    const after = await waitFor("db: the new active healthy", () => healthyActive(f, "db", before.node), 30_000, () => describeService(f.reader, "db"));
    assert.ok(after.token > before.token, `the fencing token grows (${before.token} → ${after.token})`);
  });

  await t.test("the last other node killed: the page, still served, says this node has lost the leader", async () => {
    const other = [1, 2, 3].find((id) => id !== pageNode && id !== victim)!;
    await f.cluster.kill(other);
    await page.locator("#banner-leader-lost").waitFor({ state: "visible", timeout: PAGE_DEADLINE_MS });
    assert.match(await page.locator("#banner-leader-lost").innerText(), /has lost the leader/);
    await pageShows(page, "a critical verdict", () => document.getElementById("verdict")?.getAttribute("data-level") === "critical", null);
    await screenshot(page, "leader-lost");
  });
});
