import { test } from "node:test";
import assert from "node:assert/strict";
import type { KeyValue } from "../../kv/store.js";
import { parseServiceFile } from "../../config/service-file.js";
import { serviceRevision } from "../../config/service-demand.js";
import type { ServiceSpec } from "../../config/service.js";
import { schedule } from "../../scheduler/schedule.js";
import { changeEvents, planEvents, problemEvents } from "./controller-events.js";
import { eventsTxn, planTxn } from "./controller.js";
import { eventKey, MAX_EVENTS, encodeRecord, instanceKey, nodeKey, placementKey, specKey, drainKey, type InstanceRecord, type NodeRecord } from "./layout.js";
import { applyTxn, refuseClashes } from "./routes.js";
import { readServicesView, schedulerInput, type ServicesView } from "./view.js";

function spec(text: string): ServiceSpec {
  const r = parseServiceFile(text, "t.yaml");
  assert.ok(r.ok, JSON.stringify(r));
  return r.value[0]!;
}
const web = spec("name: web\nrun: { command: /bin/sleep, args: ['100'] }\nreplicas: 2\nports: [{ name: http }]\nexpose: { listen: 127.0.0.1:8080, protocol: http }\n");

/** A fake store: key → (value, modRevision). */
function store(entries: [string, unknown][]): (prefix: string) => KeyValue[] {
  const kvs = entries.map(([key, v], k): KeyValue => ({ key, value: encodeRecord(v), createRevision: k + 1, modRevision: k + 1, version: 1, lease: 0 } as unknown as KeyValue)).sort((a, b) => (a.key < b.key ? -1 : 1));
  return (prefix) => kvs.filter((kv) => kv.key.startsWith(prefix));
}
const node = (id: number): NodeRecord => ({ id, name: `n${id}`, labels: {}, host: "127.0.0.1", clientAddress: `127.0.0.1:${2000 + id}`, startedAtMs: 0, version: "0.1.0" });
const report = (id: string, n: number, state: InstanceRecord["state"], healthy: boolean): InstanceRecord => ({ service: "web", instanceId: id, node: n, host: "127.0.0.1", revision: serviceRevision(web), state, healthy, ports: { http: 20001 }, restarts: 0, startedAtMs: 0, message: null });

function view(extra: [string, unknown][] = []): ServicesView {
  const read = store([[specKey("web"), { spec: web, revision: serviceRevision(web), appliedAtMs: 0 }], [nodeKey(1), node(1)], [nodeKey(2), node(2)], [nodeKey(3), node(3)], ...extra]);
  return readServicesView(read, 100);
}

test("schedulerInput: placed without a report is starting; a report decides state and health; a draining node is draining; a report without placement is stopping", () => {
  const rev = serviceRevision(web);
  const v = view([
    [placementKey(1, "a"), { service: "web", instanceId: "a", revision: rev }],
    [placementKey(2, "b"), { service: "web", instanceId: "b", revision: rev }],
    [instanceKey(2, "b"), report("b", 2, "healthy", true)],
    [instanceKey(3, "c"), report("c", 3, "running", false)],
    [drainKey(3), { sinceMs: 0 }],
  ]);
  const input = schedulerInput(v);
  assert.deepEqual(input.instances.map((i) => [i.id, i.node, i.state, i.healthy]), [["a", "1", "starting", false], ["b", "2", "running", true], ["c", "3", "stopping", false]]);
  assert.deepEqual(input.nodes.map((n) => [n.name, n.state]), [["1", "up"], ["2", "up"], ["3", "draining"]]);
  assert.equal(input.services[0]?.count, 2);
});

test("planTxn guards the specs read, creates placements only where absent and deletes stopped ones only as read", () => {
  const rev = serviceRevision(web);
  const v = view([[placementKey(1, "old"), { service: "web", instanceId: "old", revision: "other" }], [instanceKey(1, "old"), report("old", 1, "healthy", true)]]);
  const plan = schedule(schedulerInput(v));
  assert.ok(plan.start.length >= 1);
  const ids = plan.start.map((_, k) => `web-x-${k}`);
  const txn = planTxn(v, plan, ids, [], []);
  assert.deepEqual(txn.compares[0], { key: specKey("web"), target: "modRevision", op: "=", value: v.specs.get("web")!.modRevision });
  const creates = txn.compares.filter((c) => c.target === "version");
  assert.equal(creates.length, plan.start.length);
  assert.ok(txn.success.every((op) => op.type === "put" || op.type === "delete"));
  assert.equal(txn.success.filter((op) => op.type === "put" && op.key.startsWith("/phalanx/placements/")).length, plan.start.length);
  assert.ok(plan.start.every((s) => s.revision === rev));
});

test("changeEvents: node up and down, drains, instance transitions with the agent's message; nothing on a new leader's first round", () => {
  const before = view([[instanceKey(1, "a"), report("a", 1, "starting", false)]]);
  const gone: ServicesView = { ...view([[instanceKey(1, "a"), { ...report("a", 1, "failed", false), message: "Cannot start /x: ENOENT" }], [drainKey(2), { sinceMs: 0 }]]) };
  const nodes = new Map(gone.nodes);
  nodes.delete(3);
  const after = { ...gone, nodes };
  assert.deepEqual(changeEvents(null, after, 5), []);
  const events = changeEvents(before, after, 5);
  assert.deepEqual(events.map((e) => e.type).sort(), ["instance_failed", "node_down", "node_draining"]);
  assert.match(events.find((e) => e.type === "instance_failed")!.message, /ENOENT/);
});

test("problemEvents tells a problem once while it lasts, and again after it went away and came back", () => {
  const told = new Set<string>();
  const p = { start: [], stop: [], keep: [], problems: [{ service: "web", code: "unplaceable" as const, message: "No node", hint: "add one" }] };
  assert.equal(problemEvents(p, told, 0).length, 1);
  assert.equal(problemEvents(p, told, 1).length, 0);
  assert.equal(problemEvents({ ...p, problems: [] }, told, 2).length, 0);
  assert.equal(problemEvents(p, told, 3).length, 1);
  assert.equal(planEvents({ start: [{ service: "web", revision: "r", node: "2", reason: "rollout" }], stop: [], keep: [], problems: [] }, ["web-1-0"], 0)[0]?.type, "rollout_step");
});

test("apply: one txn guarded by every spec key; unchanged specs are not written; a changed revision records the previous spec", () => {
  const v = view();
  const web2 = spec("name: web\nrun: { command: /bin/sleep, args: ['200'] }\nreplicas: 2\nports: [{ name: http }]\nexpose: { listen: 127.0.0.1:8080, protocol: http }\n");
  const api = spec("name: api\nrun: { command: /bin/sleep }\n");
  const same = applyTxn([web], v, 0);
  assert.equal(same.txn.success.length, 0);
  assert.equal(same.changes[0]?.change, "unchanged");
  const both = applyTxn([web2, api], v, 0);
  assert.equal(both.txn.compares.length, 2);
  assert.deepEqual(both.changes.map((c) => c.change), ["rolling out", "created"]);
  assert.ok(both.txn.success.some((op) => op.type === "put" && op.key === "/phalanx/rollouts/web"));
});

test("refuseClashes names both services and the port; a service may keep its own port", () => {
  const v = view();
  const clash = spec("name: other\nrun: { command: /bin/sleep }\nports: [{ name: http, port: 8080 }]\n");
  assert.throws(() => refuseClashes([clash], v), /other.*8080.*web|8080.*web/);
  const sameExpose = spec("name: api\nrun: { command: /bin/sleep }\nports: [{ name: http }]\nexpose: { listen: 0.0.0.0:8080, protocol: http }\n");
  assert.throws(() => refuseClashes([sameExpose], v), /exposes port 8080, which service "web" already exposes/);
  refuseClashes([web], v);
});

test("eventsTxn appends after the last sequence and keeps the newest MAX_EVENTS", () => {
  const e = { atMs: 0, kind: "node" as const, type: "node_up", message: "m" };
  const few = eventsTxn(7, 7, [e, e]);
  assert.deepEqual(few.success.map((op) => op.key), [eventKey(8), eventKey(9)]);
  assert.deepEqual(few.compares, [{ key: eventKey(8), target: "version", op: "=", value: 0 }]);
  const full = eventsTxn(MAX_EVENTS + 5, MAX_EVENTS, [e, e, e]);
  const del = full.success.find((op) => op.type === "delete");
  // Keeps sequences (last + 3 − MAX_EVENTS, last + 3]: exactly MAX_EVENTS of them.
  assert.deepEqual(del, { type: "delete", key: "/phalanx/events/", rangeEnd: eventKey(MAX_EVENTS + 5 + 1 + 3 - MAX_EVENTS) });
});
