// Who may hold the cluster VIP (clusterVipCandidates) and what `phalanx status` shows of it
// (clusterVipStatus): the leader promotes among them with the same decidePromotion as services.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KeyValue } from "../../kv/store.js";
import { decidePromotion } from "../../failover/promotion.js";
import { encodeActiveRecord } from "../../failover/active-record.js";
import { DEFAULT_FLAP_PARAMS, nextPromotionAllowedAtMs } from "../../failover/flap-damping.js";
import { CLUSTER_VIP_FLAP_PARAMS, CLUSTER_VIP_KEY, CLUSTER_VIP_ROLE, clusterVipCandidates, clusterVipStatus } from "./cluster-vip.js";
import { drainKey, encodeRecord, nodeKey, type NodeRecord } from "./layout.js";
import { readServicesView } from "./view.js";

const kvOf = (key: string, value: Uint8Array, rev: number): KeyValue => ({ key, value, createRevision: rev, modRevision: rev, version: 1, lease: 0 }) as unknown as KeyValue;

function viewOf(entries: [string, unknown][]) {
  const kvs = entries.map(([key, v], k) => kvOf(key, encodeRecord(v), k + 1));
  return readServicesView((prefix) => kvs.filter((kv) => kv.key.startsWith(prefix)), 100);
}

const node = (id: number, clusterVip?: string): [string, NodeRecord] => [nodeKey(id), {
  id, name: `n${id}`, labels: {}, host: "10.0.0.1", clientAddress: "x", startedAtMs: 0, version: "0", ...(clusterVip !== undefined ? { clusterVip } : {}),
}];

test("clusterVipCandidates: nodes publishing the address most nodes publish, alive with a fencing lease and not drained; the Raft leader last; others are reported, never candidates", () => {
  const v = viewOf([node(1, "10.1.0.100/24"), node(2, "10.1.0.100/24"), node(3, "10.1.0.100/24"), node(4, "10.1.0.101/24"), node(5), node(6, "10.1.0.100/24"), [drainKey(3), { sinceMs: 0 }]]);
  const leases = new Map([[1, 11], [2, 12], [3, 13], [4, 14], [5, 15]]); // node 6 has no fencing lease
  const c = clusterVipCandidates(v, leases, 1);
  assert.equal(c.address, "10.1.0.100/24");
  assert.deepEqual(c.disagreeing, [{ node: 4, address: "10.1.0.101/24" }]);
  const byNode = new Map(c.candidates.map((x) => [x.node, x]));
  assert.deepEqual([...byNode.keys()], [1, 2, 3, 6], "node 5 publishes no cluster VIP, node 4 another one");
  assert.deepEqual(byNode.get(1), { node: 1, leaseId: 11, nodeAlive: true, healthy: true, preference: 1 });
  assert.equal(byNode.get(2)!.preference, 0);
  assert.equal(byNode.get(3)!.nodeAlive, false, "a draining node does not take the cluster VIP");
  assert.equal(byNode.get(6)!.nodeAlive, false, "a node without a fencing lease does not take it");
  const d = decidePromotion({ nowMs: 0, hasQuorum: true, holderNode: null, candidates: c.candidates, promotionAllowedAtMs: 0 });
  assert.deepEqual(d.kind === "promote" ? d.candidate.node : d, 2, "a live follower first, off the leader");
  const onlyLeader = clusterVipCandidates(viewOf([node(1, "10.1.0.100/24")]), leases, 1);
  const d1 = decidePromotion({ nowMs: 0, hasQuorum: true, holderNode: null, candidates: onlyLeader.candidates, promotionAllowedAtMs: 0 });
  assert.deepEqual(d1.kind === "promote" ? d1.candidate.node : d1, 1, "the leader when nobody else may");
});

test("clusterVipCandidates: a tie goes to the lowest node's address; no node publishing one gives no address and no candidate", () => {
  const tie = clusterVipCandidates(viewOf([node(2, "10.1.0.102/24"), node(1, "10.1.0.101/24")]), new Map([[1, 11], [2, 12]]), 9);
  assert.equal(tie.address, "10.1.0.101/24");
  assert.deepEqual(tie.candidates.map((x) => x.node), [1]);
  assert.deepEqual(tie.disagreeing, [{ node: 2, address: "10.1.0.102/24" }]);
  const none = clusterVipCandidates(viewOf([node(1), node(2)]), new Map([[1, 11]]), 1);
  assert.deepEqual(none, { address: null, candidates: [], disagreeing: [] });
});

test("clusterVipStatus: the holder from the role's record (its token = the create revision) with the address its node publishes; nobody holding → this node's address", () => {
  const nodes = new Map([node(2, "10.1.0.100/24")].map(([, r]) => [r.id, r]));
  const record = kvOf(CLUSTER_VIP_KEY, encodeActiveRecord({ service: CLUSTER_VIP_ROLE, node: 2, leaseId: 12 as never, promotedAtMs: 0 }), 42);
  assert.deepEqual(clusterVipStatus(record, (n) => nodes.get(n), "10.9.9.9/24"), { address: "10.1.0.100/24", holder: 2, holderName: "n2", token: 42 });
  assert.deepEqual(clusterVipStatus(undefined, (n) => nodes.get(n), "10.1.0.100/24"), { address: "10.1.0.100/24", holder: null, holderName: null, token: null });
  assert.deepEqual(clusterVipStatus(undefined, () => undefined, null), { address: null, holder: null, holderName: null, token: null });
});

test("the cluster VIP's flap damping: after 3 moves it may move again at once (a service waits 10 s); after 10 it waits 1 s, doubling to at most 10 s", () => {
  const moves = (n: number) => ({ promotionsAtMs: Array.from({ length: n }, (_, i) => 1_000 + i) });
  const now = 2_000;
  assert.equal(nextPromotionAllowedAtMs(moves(3), now, CLUSTER_VIP_FLAP_PARAMS), now);
  assert.equal(nextPromotionAllowedAtMs(moves(3), now, DEFAULT_FLAP_PARAMS), 1_002 + 10_000, "a service's default waits");
  assert.equal(nextPromotionAllowedAtMs(moves(10), now, CLUSTER_VIP_FLAP_PARAMS), 1_009 + 1_000);
  assert.equal(nextPromotionAllowedAtMs(moves(30), now, CLUSTER_VIP_FLAP_PARAMS), 1_029 + 10_000);
});
