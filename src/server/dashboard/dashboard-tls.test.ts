// The dashboard over a TLS client port (`node.clientTls`): served with the node's certificate from
// the cluster CA, the page works in a browser, and a client certificate alone does not open the
// dashboard's data (certificates authenticate at the client level, access.ts; the data is admin).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, fetch as tlsFetch } from "undici";
import { issueClientCertificate } from "../../pki/issue.js";
import { browserSkip, launchBrowser } from "../../testing/browser.js";
import { PROCESS_TEST_RAFT, ProcessCluster } from "../../testing/process-cluster.js";
import { waitUntil } from "../../testing/wait.js";

declare const document: { querySelectorAll(selector: string): ArrayLike<unknown> };

test("the dashboard over TLS: the cluster's certificate, a client certificate refused for its data, the page in a browser", { timeout: 120_000 }, async (t) => {
  const cluster = await ProcessCluster.start(1, PROCESS_TEST_RAFT, { clientTls: true });
  t.after(() => cluster.close());
  const base = `https://${cluster.endpoints()[0]}`;
  const trusting = new Agent({ connect: { ca: cluster.ca.certPem } });
  const creds = await issueClientCertificate(cluster.ca, { name: "operator" });
  const withCert = new Agent({ connect: { ca: cluster.ca.certPem, cert: creds.certPem, key: creds.keyPem } });
  t.after(() => Promise.all([trusting.close(), withCert.close()]));
  await waitUntil("the node to answer over TLS with a leader", async () => (await tlsFetch(`${base}/healthz`, { dispatcher: trusting }).then((r) => r.status, () => 0)) === 200, 60_000, 50);

  await t.test("the page is served with a certificate the cluster CA verifies", async () => {
    const r = await tlsFetch(`${base}/dashboard`, { dispatcher: trusting });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<title>Phalanx dashboard<\/title>/);
  });

  await t.test("a client certificate authenticates as a client: the dashboard's data stays refused (403); the admin token opens it", async () => {
    const cert = await tlsFetch(`${base}/v3/phalanx/dashboard/state`, { dispatcher: withCert });
    assert.equal(cert.status, 403, await cert.text());
    const admin = await tlsFetch(`${base}/v3/phalanx/dashboard/state`, { dispatcher: trusting, headers: { authorization: `Bearer ${cluster.adminToken}` } });
    assert.equal(admin.status, 200);
    assert.equal(((await admin.json()) as { served: { id: number } }).served.id, 1);
  });

  await t.test("in a browser over HTTPS, signed in with the admin token", { skip: browserSkip() }, async () => {
    const browser = await launchBrowser();
    t.after(() => browser.close());
    // Chromium does not know the cluster CA; the certificate chain was verified above.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill("#token", cluster.adminToken);
    await page.click("#login-submit");
    await page.waitForFunction(() => document.querySelectorAll('#nodes tr[data-node="1"][data-raft="leader"]').length === 1, undefined, { timeout: 10_000 });
    assert.match(await page.locator("#served").innerText(), /node 1\b/);
  });
});
