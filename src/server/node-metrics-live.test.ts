// A real node serves Prometheus /metrics: Raft state, proposals, WAL fsyncs and client requests by
// route and code, to client-token holders only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { b64, call, startApiNode } from "../testing/api-testing.js";

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no sample ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

test("a node's /metrics reports its Raft state, fsyncs, proposals and requests; without a token it is refused", async (t) => {
  const api = await startApiNode();
  t.after(() => api.close());
  for (let i = 0; i < 3; i++) {
    const put = await call(api.baseUrl, "POST", "/v3/kv/put", { token: api.clientToken, body: { key: b64(`m/${i}`), value: b64("v") } });
    assert.equal(put.status, 200, put.text);
  }
  const missing = await call(api.baseUrl, "POST", "/v3/kv/nope", { token: api.clientToken, body: {} });
  assert.equal(missing.status, 404);

  const refused = await call(api.baseUrl, "GET", "/metrics");
  assert.equal(refused.status, 401, "metrics need a client credential");

  const m = await call(api.baseUrl, "GET", "/metrics", { token: api.clientToken });
  assert.equal(m.status, 200, m.text);
  assert.equal(sample(m.text, "phalanx_server_is_leader"), 1);
  assert.equal(sample(m.text, "phalanx_server_has_leader"), 1);
  assert.ok(sample(m.text, "phalanx_server_term") >= 1);
  assert.ok(sample(m.text, "phalanx_server_leader_changes_seen_total") >= 1);
  const committed = sample(m.text, "phalanx_server_proposals_committed_total");
  assert.ok(committed >= 3, `commit index ${committed}`);
  assert.equal(sample(m.text, "phalanx_server_proposals_pending"), 0);
  assert.ok(sample(m.text, "phalanx_disk_wal_fsync_duration_seconds_count") >= 3, "every acknowledged put was fsynced");
  assert.equal(sample(m.text, 'phalanx_http_requests_total{route="/v3/kv/put",code="200"}'), 3);
  assert.equal(sample(m.text, 'phalanx_http_requests_total{route="other",code="404"}'), 1);
});
