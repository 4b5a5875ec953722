// The routing rule of exposed services, as a table of store views.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseInstanceRecord, routableBackends, type InstanceEntry, type RoutingView } from "./serviceRouting.js";

const svc = { name: "web", replicas: 2, port: "http" };

function inst(node: string, id: string, over: Partial<InstanceEntry["record"]> = {}, lease = 10): InstanceEntry {
  return { nodeId: node, key: `/phalanx/instances/${node}/${id}`, lease, record: { service: "web", instanceId: id, node: Number(node), host: "10.0.0.1", state: "healthy", healthy: true, ports: { http: 8000 + Number(node) }, ...over } };
}

function view(instances: InstanceEntry[], opts: { nodes?: Record<string, number>; draining?: string[] } = {}): RoutingView {
  const nodes = new Map(Object.entries(opts.nodes ?? { 1: 10, 2: 10, 3: 10 }).map(([k, lease]) => [k, { lease }]));
  return { instances, nodes, draining: new Set(opts.draining ?? []) };
}

const ids = (v: RoutingView, s = svc): string[] => routableBackends(s, v).map((b) => b.id);

test("routableBackends keeps healthy instances of live nodes and drops every other case", () => {
  const cases: Array<[string, InstanceEntry, boolean]> = [
    ["healthy", inst("1", "a"), true],
    ["running and healthy (no check)", inst("1", "a", { state: "running" }), true],
    ["reported unhealthy", inst("1", "a", { state: "unhealthy", healthy: false }), false],
    ["healthy flag false in state healthy", inst("1", "a", { healthy: false }), false],
    ["starting", inst("1", "a", { state: "starting", healthy: false }), false],
    ["stopping although healthy was true", inst("1", "a", { state: "stopping" }), false],
    ["of another service", inst("1", "a", { service: "api" }), false],
    ["without the exposed port", inst("1", "a", { ports: { admin: 9 } }), false],
    ["with a port out of range", inst("1", "a", { ports: { http: 70_000 } }), false],
    ["on a node with no registration", inst("4", "a"), false],
    ["on another lease than its node's", inst("1", "a", {}, 99), false],
  ];
  for (const [what, entry, routed] of cases) assert.deepEqual(ids(view([entry])), routed ? ["1/a"] : [], what);
});

test("routableBackends addresses an instance at its host and exposed port", () => {
  assert.deepEqual(routableBackends(svc, view([inst("2", "x", { host: "10.0.0.2", ports: { admin: 1, http: 8080 } })])), [{ id: "2/x", host: "10.0.0.2", port: 8080, weight: 1 }]);
});

test("a draining node's instances serve only while fewer than `replicas` serve elsewhere", () => {
  const a = inst("1", "a");
  const b = inst("2", "b");
  const c = inst("3", "c");
  assert.deepEqual(ids(view([a, b], { draining: ["1"] })), ["1/a", "2/b"], "no replacement yet: keep it");
  assert.deepEqual(ids(view([a, b, c], { draining: ["1"] })), ["2/b", "3/c"], "replacement up: drop it");
  assert.deepEqual(ids(view([a, b, inst("3", "c", { healthy: false, state: "starting" })], { draining: ["1"] })), ["1/a", "2/b"], "an unready replacement does not count");
  const a2 = inst("1", "a2");
  assert.deepEqual(ids(view([a, a2, b], { draining: ["1"] }), { ...svc, replicas: 2 }), ["1/a", "2/b"], "only as many drained copies as are missing");
});

test("parseInstanceRecord names the field that is wrong", () => {
  assert.match(String(parseInstanceRecord("{")), /not JSON/);
  assert.match(String(parseInstanceRecord(JSON.stringify({ service: "web", instanceId: "a", host: "h", state: "healthy", ports: {} }))), /healthy must be a boolean/);
  const ok = parseInstanceRecord(JSON.stringify({ service: "web", instanceId: "a", host: "h", state: "healthy", healthy: true, ports: { http: 1 }, node: 2 }));
  assert.equal(typeof ok === "object" && ok.node, 2);
});
