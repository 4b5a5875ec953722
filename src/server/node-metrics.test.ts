import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeId, RaftStatus } from "../raft/raft.js";
import { NO_NODE } from "../raft/raft.js";
import { NodeMetrics } from "./node-metrics.js";

function fakeSource(over: Partial<RaftStatus>, applied: number, pending: number) {
  const status = {
    id: 1 as NodeId, term: 7, vote: 1 as NodeId, commit: 120, applied, leader: 1 as NodeId, role: "leader",
    lastIndex: 125, firstIndex: 40, confState: { voters: [1 as NodeId], learners: [] }, pendingConfIndex: 0,
    leadTransferee: NO_NODE, persistedIndex: 125, uncommittedBytes: 0, ...over,
  } as RaftStatus;
  return { status: () => status, appliedIndex: () => applied, pendingProposals: () => pending };
}

function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

test("raft state is read at scrape time in etcd's names", async () => {
  const m = new NodeMetrics(fakeSource({}, 100, 3));
  const text = await m.text();
  assert.equal(sample(text, "phalanx_server_term"), 7);
  assert.equal(sample(text, "phalanx_server_is_leader"), 1);
  assert.equal(sample(text, "phalanx_server_has_leader"), 1);
  assert.equal(sample(text, "phalanx_server_proposals_committed_total"), 120);
  assert.equal(sample(text, "phalanx_server_proposals_applied_total"), 100);
  assert.equal(sample(text, "phalanx_server_apply_lag_entries"), 20);
  assert.equal(sample(text, "phalanx_server_proposals_pending"), 3);
  const follower = await new NodeMetrics(fakeSource({ role: "follower", leader: NO_NODE }, 120, 0)).text();
  assert.equal(sample(follower, "phalanx_server_has_leader"), 0);
  assert.equal(sample(follower, "phalanx_server_is_leader"), 0);
});

test("counters and histograms record what the node reports", async () => {
  const m = new NodeMetrics(fakeSource({}, 120, 0));
  m.leaderChanged();
  m.leaderChanged();
  m.proposalFailed("unknown_outcome");
  m.fsync(0.003);
  m.snapshot("taken", 5000);
  m.request("/v3/kv/put", 200);
  m.request("/v3/kv/put", 200);
  m.request("/no/such/path/1", 404);
  m.request("/v3/phalanx/nope", 404);
  m.request("/v3/phalanx/members", 200);
  const text = await m.text();
  assert.equal(sample(text, "phalanx_server_leader_changes_seen_total"), 2);
  assert.equal(sample(text, 'phalanx_server_proposals_failed_total{code="unknown_outcome"}'), 1);
  assert.equal(sample(text, "phalanx_disk_wal_fsync_duration_seconds_count"), 1);
  assert.equal(sample(text, 'phalanx_disk_wal_fsync_duration_seconds_bucket{le="0.004"}'), 1);
  assert.equal(sample(text, 'phalanx_disk_wal_fsync_duration_seconds_bucket{le="0.002"}'), 0);
  assert.equal(sample(text, 'phalanx_snapshot_size_bytes_count{kind="taken"}'), 1);
  assert.equal(sample(text, 'phalanx_http_requests_total{route="/v3/kv/put",code="200"}'), 2);
  // Unknown paths share one series, so probing cannot grow the label set.
  assert.equal(sample(text, 'phalanx_http_requests_total{route="other",code="404"}'), 2);
  assert.equal(sample(text, 'phalanx_http_requests_total{route="/v3/phalanx/members",code="200"}'), 1);
});
