// What the service controller tells the alert rules: instance state changes between two views, and
// a service's healthy/total only when it changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KeyValue } from "../../kv/store.js";
import { instanceStateEvents, serviceHealthEvents } from "./controller-alerts.js";
import { encodeRecord, instanceKey, placementKey, specKey } from "./layout.js";
import { readServicesView } from "./view.js";

function viewOf(entries: [string, unknown][]) {
  const kvs = entries.map(([key, v], k) => ({ key, value: encodeRecord(v), createRevision: k + 1, modRevision: k + 1, version: 1, lease: 0 }) as unknown as KeyValue);
  return readServicesView((prefix) => kvs.filter((kv) => kv.key.startsWith(prefix)), 100);
}
const spec = (name: string): [string, unknown] => [specKey(name), { revision: "r", spec: { name } }];
const placed = (n: number, id: string, service = "web"): [string, unknown] => [placementKey(n, id), { service, instanceId: id, revision: "r" }];
const report = (n: number, id: string, state: string, healthy: boolean, service = "web"): [string, unknown] => [instanceKey(n, id), {
  service, instanceId: id, node: n, host: "127.0.0.1", revision: "r", state, healthy, ports: {}, restarts: 0, startedAtMs: 0, message: null,
}];

test("instanceStateEvents: every instance of a first view, then only those whose state changed", () => {
  const a = viewOf([spec("web"), placed(1, "a"), placed(2, "b"), report(1, "a", "healthy", true), report(2, "b", "starting", false)]);
  assert.deepEqual(instanceStateEvents(null, a).map((e) => e.type === "instance_state" && `${e.instance} ${e.state}`), ["a healthy", "b starting"]);
  const b = viewOf([spec("web"), placed(1, "a"), placed(2, "b"), report(1, "a", "healthy", true), report(2, "b", "unhealthy", false)]);
  assert.deepEqual(instanceStateEvents(a, b), [{ type: "instance_state", service: "web", instance: "b", state: "unhealthy" }]);
  assert.deepEqual(instanceStateEvents(b, b), []);
});

test("serviceHealthEvents: healthy/total per service when it changes; a service with nothing placed reports 0/0; a removed service is forgotten", () => {
  const told = new Map<string, string>();
  const v1 = viewOf([spec("web"), spec("idle"), placed(1, "a"), placed(2, "b"), report(1, "a", "healthy", true), report(2, "b", "healthy", true)]);
  assert.deepEqual(serviceHealthEvents(v1, told), [
    { type: "service_health", service: "web", healthy: 2, total: 2 },
    { type: "service_health", service: "idle", healthy: 0, total: 0 },
  ]);
  assert.deepEqual(serviceHealthEvents(v1, told), [], "unchanged: nothing new");
  const v2 = viewOf([spec("web"), placed(1, "a"), placed(2, "b"), report(1, "a", "failed", false), report(2, "b", "unhealthy", false)]);
  assert.deepEqual(serviceHealthEvents(v2, told), [{ type: "service_health", service: "web", healthy: 0, total: 2 }]);
  assert.deepEqual([...told.keys()], ["web"], "idle's spec is gone");
});
