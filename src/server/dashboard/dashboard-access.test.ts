// Who may call the dashboard's routes, against a real node process (no browser): the page shell and
// its files are public and hold no data; the state, the stream and the leader's part need the admin
// token (401 without a token, 403 with the client token); the actions the page calls refuse the
// same way. With the admin token the stream sends a state at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PROCESS_TEST_RAFT, ProcessCluster } from "../../testing/process-cluster.js";
import { DASHBOARD_FILES } from "./assets.js";

test("dashboard routes: public shell without data, admin token for state, stream, leader part and actions", { timeout: 120_000 }, async (t) => {
  // With both session fronts on (ephemeral ports), so the state carries their statistics.
  const cluster = await ProcessCluster.start(1, PROCESS_TEST_RAFT, { configExtra: () => ({ fronts: { resp: { enabled: true, listen: "127.0.0.1:0" }, memcached: { enabled: true, listen: "127.0.0.1:0" } } }) });
  t.after(() => cluster.close());
  const base = `http://${cluster.endpoints()[0]}`;
  const as = (token: string | null): Record<string, string> => (token === null ? {} : { authorization: `Bearer ${token}` });

  await t.test("the shell and its files are public, carry a strict CSP and no data", async () => {
    const shell = await fetch(`${base}/dashboard`);
    assert.equal(shell.status, 200);
    assert.match(shell.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(shell.headers.get("content-security-policy") ?? "", /default-src 'none'; script-src 'self'/);
    const html = await shell.text();
    assert.ok(!html.includes(cluster.adminToken) && !html.includes(cluster.token), "no token in the shell");
    const status = (await (await fetch(`${base}/v3/phalanx/status`, { headers: as(cluster.token) })).json()) as { clusterId: string };
    assert.ok(!html.includes(status.clusterId), "no cluster data in the shell");
    for (const file of DASHBOARD_FILES) {
      const r = await fetch(`${base}/dashboard/${file}`);
      await r.arrayBuffer();
      assert.equal(r.status, 200, file);
    }
    assert.match((await fetch(`${base}/dashboard/app.js`)).headers.get("content-type") ?? "", /^text\/javascript/);
  });

  const adminRoutes: [string, string, unknown][] = [
    ["GET", "/v3/phalanx/dashboard/state", undefined],
    ["GET", "/v3/phalanx/dashboard/stream", undefined],
    ["POST", "/v3/phalanx/dashboard/leader", {}],
    ["POST", "/v3/phalanx/dashboard/logs", { node: 1, service: "db", instance: "db-1" }],
    ["POST", "/v3/phalanx/nodes/drain", { node: 1 }],
    ["POST", "/v3/phalanx/nodes/undrain", { node: 1 }],
    ["POST", "/v3/phalanx/services/failover", { service: "db" }],
    ["POST", "/v3/phalanx/transfer", { to: 1 }],
  ];
  for (const [method, path, body] of adminRoutes) {
    await t.test(`${method} ${path}: 401 without a token, 403 with the client token`, async () => {
      for (const [token, expected] of [[null, 401], ["wrong-token", 401], [cluster.token, 403]] as const) {
        const r = await fetch(`${base}${path}`, { method, headers: { ...as(token), "content-type": "application/json" }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
        const text = await r.text();
        assert.equal(r.status, expected, `${token === null ? "no token" : token === cluster.token ? "client token" : "wrong token"}: ${text}`);
        assert.match(text, expected === 401 ? /Missing or wrong cluster token/ : /needs the admin token/);
      }
    });
  }

  await t.test("with the admin token: the state names the serving node, the stream sends a state at once", async () => {
    const r = await fetch(`${base}/v3/phalanx/dashboard/state`, { headers: as(cluster.adminToken) });
    assert.equal(r.status, 200);
    const state = (await r.json()) as { served: { id: number; leaderLost: boolean }; nodes: { id: number; raft: string }[]; fronts: { resp: { port: number } | null; memcached: { port: number } | null } | null };
    assert.equal(state.served.id, 1);
    assert.ok((state.fronts?.resp?.port ?? 0) > 0 && (state.fronts?.memcached?.port ?? 0) > 0, `fronts in the state: ${JSON.stringify(state.fronts)}`);
    assert.equal(state.served.leaderLost, false);
    assert.deepEqual(state.nodes.map((n) => [n.id, n.raft]), [[1, "leader"]]);
    const stream = new AbortController();
    t.after(() => stream.abort());
    const s = await fetch(`${base}/v3/phalanx/dashboard/stream`, { headers: as(cluster.adminToken), signal: stream.signal });
    assert.equal(s.status, 200);
    assert.match(s.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = s.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/event: state\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended before a state: ${text}`);
      text += value;
    }
    const data = JSON.parse(/event: state\ndata: (.*)\n\n/.exec(text)![1]!) as { served: { id: number } };
    assert.equal(data.served.id, 1);
    stream.abort();
  });
});
