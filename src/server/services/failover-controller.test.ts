// Who the leader may promote: standbyCandidates turns the services view into decidePromotion's
// candidates (src/failover/promotion.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KeyValue } from "../../kv/store.js";
import { parseServiceFile } from "../../config/service-file.js";
import type { ServiceSpec } from "../../config/service.js";
import { standbyCandidates } from "./failover-controller.js";
import { decidePromotion } from "../../failover/promotion.js";
import { drainKey, encodeRecord, instanceKey, nodeKey, placementKey, type InstanceRecord } from "./layout.js";
import { readServicesView } from "./view.js";

function spec(standby: "warm" | "cold"): ServiceSpec {
  const r = parseServiceFile(`name: db\nrun: { command: /bin/db }\nmode: active-standby\nstandbys: 3\nstandby: ${standby}\n`, "t.yaml");
  assert.ok(r.ok, JSON.stringify(r));
  return r.value[0]!;
}

function viewOf(entries: [string, unknown][]) {
  const kvs = entries.map(([key, v], k) => ({ key, value: encodeRecord(v), createRevision: k + 1, modRevision: k + 1, version: 1, lease: 0 }) as unknown as KeyValue);
  return readServicesView((prefix) => kvs.filter((kv) => kv.key.startsWith(prefix)), 100);
}

const node = (id: number): [string, unknown] => [nodeKey(id), { id, name: `n${id}`, labels: {}, host: "127.0.0.1", clientAddress: "x", startedAtMs: 0, version: "0" }];
const placed = (n: number, id: string): [string, unknown] => [placementKey(n, id), { service: "db", instanceId: id, revision: "r" }];
const reported = (n: number, id: string, state: InstanceRecord["state"], healthy: boolean): [string, unknown] => [instanceKey(n, id), {
  service: "db", instanceId: id, node: n, host: "127.0.0.1", revision: "r", state, healthy, ports: {}, restarts: 0, startedAtMs: 0, message: null,
}];

test("standbyCandidates: a live node needs its fencing lease and no drain; warm standbys must be healthy, cold ones only not failed; the Raft leader's node comes last", () => {
  const entries: [string, unknown][] = [
    node(1), node(2), node(3), node(4), [drainKey(3), { sinceMs: 0 }],
    placed(1, "a"), placed(2, "b"), placed(3, "c"), placed(4, "d"),
    reported(1, "a", "healthy", true), reported(2, "b", "unhealthy", false), reported(3, "c", "healthy", true), reported(4, "d", "failed", false),
  ];
  const leases = new Map([[1, 11], [2, 12], [3, 13]]); // node 4 has no fencing lease
  const byNode = (standby: "warm" | "cold") => new Map(standbyCandidates(viewOf(entries), spec(standby), leases, 1).map((c) => [c.node, c]));

  const warm = byNode("warm");
  assert.deepEqual([...warm.keys()].sort(), [1, 2, 3, 4]);
  assert.deepEqual(warm.get(1), { node: 1, leaseId: 11, nodeAlive: true, healthy: true, preference: 1 }, "the leader's own node is least preferred");
  assert.equal(warm.get(2)!.healthy, false, "a warm standby failing its checks is not eligible");
  assert.equal(warm.get(2)!.preference, 0);
  assert.equal(warm.get(3)!.nodeAlive, false, "a draining node takes no active");
  assert.equal(warm.get(4)!.nodeAlive, false, "a node without a fencing lease takes no active");

  const cold = byNode("cold");
  assert.equal(cold.get(2)!.healthy, true, "a cold standby does not run: only a failed one is excluded");
  assert.equal(cold.get(4)!.healthy, false);
});

test("standbyCandidates carries the reported position (null = the command failed): the most caught-up healthy standby wins, a failed one ranks last, none reported → preference", () => {
  const withPos = (n: number, id: string, position: number | null | undefined, healthy = true): [string, unknown] => {
    const [k, v] = reported(n, id, healthy ? "healthy" : "unhealthy", healthy);
    return [k, position === undefined ? v : { ...(v as object), position }];
  };
  const leases = new Map([[1, 11], [2, 12], [3, 13], [4, 14]]);
  const pick = (reports: [string, unknown][], leader = 9) => {
    const v = viewOf([node(1), node(2), node(3), node(4), placed(1, "a"), placed(2, "b"), placed(3, "c"), placed(4, "d"), ...reports]);
    const d = decidePromotion({ nowMs: 0, hasQuorum: true, holderNode: null, candidates: standbyCandidates(v, spec("warm"), leases, leader), promotionAllowedAtMs: 0 });
    return d.kind === "promote" ? d.candidate.node : null;
  };
  assert.equal(pick([withPos(1, "a", 10), withPos(2, "b", 30), withPos(3, "c", 20), withPos(4, "d", 99, false)]), 2, "largest position among healthy ones");
  assert.equal(pick([withPos(1, "a", null), withPos(2, "b", undefined), withPos(3, "c", 5), withPos(4, "d", undefined)]), 3);
  assert.equal(pick([withPos(1, "a", null), withPos(2, "b", undefined), withPos(3, "c", undefined), withPos(4, "d", undefined)], 2), 3, "no positions: preference (off the leader), then node id; the failed one last");
  assert.equal(pick([withPos(1, "a", null), withPos(2, "b", null, false), withPos(3, "c", null, false), withPos(4, "d", null, false)]), 1, "a failed command does not exclude");
  const v = viewOf([node(1), placed(1, "a"), withPos(1, "a", null)]);
  assert.equal(standbyCandidates(v, spec("warm"), leases, 9)[0]!.positionFailed, true);
});
