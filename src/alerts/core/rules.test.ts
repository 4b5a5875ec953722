import { test } from "node:test";
import assert from "node:assert/strict";
import { ALERT_NAMES, DEFAULT_RULE_THRESHOLDS, applyEvent, initialRuleState } from "./rules.js";
import type { ClusterEvent, RuleOptions, RuleState } from "./rules.js";
import type { Alert } from "./model.js";
import { fingerprintOf } from "./model.js";

const options: RuleOptions = { thresholds: { ...DEFAULT_RULE_THRESHOLDS, nodeDownAfterMs: 1000, flapCount: 3, flapWindowMs: 10_000 }, commonLabels: { cluster: "c1" } };

/** Runs events in order at the given times; returns every change and the final state. */
function run(events: readonly (readonly [number, ClusterEvent])[], state: RuleState = initialRuleState()): { changes: Alert[]; state: RuleState } {
  const changes: Alert[] = [];
  for (const [nowMs, e] of events) {
    const step = applyEvent(state, e, nowMs, options);
    state = step.state;
    changes.push(...step.changes);
  }
  return { changes, state };
}

const summary = (a: Alert): string => `${a.name} ${a.status}`;

test("fingerprintOf matches Prometheus' FNV-1a label-set fingerprint and ignores label order", () => {
  // Prometheus model: LabelSet{}.Fingerprint() is the FNV-1a 64 offset basis.
  assert.equal(fingerprintOf({}), "cbf29ce484222325");
  assert.equal(fingerprintOf({ b: "2", a: "1" }), fingerprintOf({ a: "1", b: "2" }));
  assert.notEqual(fingerprintOf({ a: "1", b: "2" }), fingerprintOf({ a: "12" }));
  assert.match(fingerprintOf({ alertname: "X" }), /^[0-9a-f]{16}$/);
});

test("a failover fires when begun and resolves once when completed, with its duration", () => {
  const { changes } = run([
    [1000, { type: "failover_begun", service: "web", failoverId: "f1", fromNode: "2", reason: "node down" }],
    [1500, { type: "failover_begun", service: "web", failoverId: "f1", fromNode: "2", reason: "node down" }],
    [3500, { type: "failover_completed", service: "web", failoverId: "f1", toNode: "3", durationMs: 2500 }],
    [3600, { type: "failover_completed", service: "web", failoverId: "f1", toNode: "3", durationMs: 2500 }],
  ]);
  assert.deepEqual(changes.slice(0, 2).map(summary), ["PhalanxFailover firing", "PhalanxFailover resolved"]);
  const [fired, resolved] = changes;
  assert.equal(fired!.fingerprint, resolved!.fingerprint);
  assert.equal(resolved!.annotations.duration_ms, "2500");
  assert.match(resolved!.annotations.description, /completed in 2500 ms/);
  assert.equal(resolved!.startsAtMs, 1000);
  assert.equal(resolved!.endsAtMs, 3500);
  assert.equal(fired!.labels.cluster, "c1");
  assert.equal(fired!.labels.alertname, ALERT_NAMES.failover);
});

test("a failed failover resolves the failover alert and fires a critical one, which a later success resolves", () => {
  const { changes } = run([
    [0, { type: "failover_begun", service: "db", failoverId: "f1", fromNode: "1", reason: "unhealthy" }],
    [10, { type: "failover_failed", service: "db", failoverId: "f1", reason: "no eligible node" }],
    [20, { type: "failover_completed", service: "db", failoverId: "f2", toNode: "2", durationMs: 5 }],
  ]);
  assert.deepEqual(changes.map(summary), ["PhalanxFailover firing", "PhalanxFailover resolved", "PhalanxFailoverFailed firing", "PhalanxFailover resolved", "PhalanxFailoverFailed resolved"]);
  assert.equal(changes[2]!.severity, "critical");
  assert.equal(changes[1]!.annotations.outcome, "failed");
  // f2's "begun" was never seen: its completion is still delivered, starting durationMs earlier.
  assert.equal(changes[3]!.startsAtMs, 15);
});

test("a peer is down only after nodeDownAfterMs of unreachability, and up again once", () => {
  const { changes } = run([
    [0, { type: "peer_seen", node: "2", connected: false }],
    [500, { type: "peer_seen", node: "2", connected: false }],
    [999, { type: "tick" }],
    [1000, { type: "tick" }],
    [1200, { type: "peer_seen", node: "2", connected: false }],
    [2000, { type: "peer_seen", node: "2", connected: true }],
    [2100, { type: "peer_seen", node: "2", connected: true }],
  ]);
  assert.deepEqual(changes.map(summary), ["PhalanxNodeDown firing", "PhalanxNodeDown resolved"]);
  assert.equal(changes[0]!.startsAtMs, 0);
  assert.equal(changes[0]!.labels.node, "2");
});

test("a short blip of a peer raises nothing", () => {
  const { changes } = run([
    [0, { type: "peer_seen", node: "3", connected: false }],
    [400, { type: "peer_seen", node: "3", connected: true }],
    [5000, { type: "tick" }],
  ]);
  assert.deepEqual(changes, []);
});

test("quorum lost fires from when it was lost and regained resolves it", () => {
  const { changes } = run([
    [9000, { type: "quorum_lost", sinceMs: 4000, detail: "2 of 3 voters unreachable" }],
    [9000, { type: "quorum_regained", detail: "node 1 elected" }],
    [9100, { type: "quorum_regained", detail: "again" }],
  ]);
  assert.deepEqual(changes.map(summary), ["PhalanxQuorumLost firing", "PhalanxQuorumLost resolved"]);
  assert.equal(changes[0]!.startsAtMs, 4000);
});

test("an instance changing state flapCount times within the window is flapping until a calm window passes", () => {
  const change = (ms: number): [number, ClusterEvent] => [ms, { type: "instance_state", service: "web", instance: "web-1", state: ms % 2 === 0 ? "running" : "failed" }];
  const { changes } = run([change(0), change(1), [5, { type: "tick" }], change(2), change(3), [10_002, { type: "tick" }], [10_003, { type: "tick" }]]);
  assert.deepEqual(changes.map(summary), ["PhalanxInstanceFlapping firing", "PhalanxInstanceFlapping resolved"]);
  assert.equal(changes[0]!.labels.instance, "web-1");
});

test("changes spread wider than the window are not flapping", () => {
  const events: [number, ClusterEvent][] = [0, 6000, 12_000, 18_000].map((ms) => [ms, { type: "instance_state", service: "s", instance: "i", state: "x" }]);
  assert.deepEqual(run(events).changes, []);
});

test("a service with no healthy instance fires, and resolves when one is healthy", () => {
  const { changes } = run([
    [0, { type: "service_health", service: "api", healthy: 1, total: 2 }],
    [1, { type: "service_health", service: "api", healthy: 0, total: 2 }],
    [2, { type: "service_health", service: "api", healthy: 0, total: 2 }],
    [3, { type: "service_health", service: "api", healthy: 2, total: 2 }],
    [4, { type: "service_health", service: "none", healthy: 0, total: 0 }],
  ]);
  assert.deepEqual(changes.map(summary), ["PhalanxServiceNoHealthyInstance firing", "PhalanxServiceNoHealthyInstance resolved"]);
});

test("slow disk and clock skew fire above their thresholds and resolve below", () => {
  const t = options.thresholds;
  const { changes } = run([
    [0, { type: "fsync_p99", node: "1", p99Ms: t.fsyncP99Ms, samples: 100 }],
    [1, { type: "fsync_p99", node: "1", p99Ms: t.fsyncP99Ms + 1, samples: 100 }],
    [2, { type: "clock_skew", node: "2", skewMs: -(t.clockSkewMs + 1) }],
    [3, { type: "clock_skew", node: "2", skewMs: 3 }],
    [4, { type: "fsync_p99", node: "1", p99Ms: 2, samples: 100 }],
  ]);
  assert.deepEqual(changes.map(summary), ["PhalanxSlowDisk firing", "PhalanxClockSkew firing", "PhalanxClockSkew resolved", "PhalanxSlowDisk resolved"]);
});

test("a state loaded with a firing alert does not re-raise it (a new leader), but resolves it", () => {
  const first = run([[0, { type: "peer_seen", node: "2", connected: false }], [2000, { type: "tick" }]]);
  assert.equal(first.changes.length, 1);
  const reloaded = initialRuleState([...first.state.active.values()]);
  const { changes } = run([[3000, { type: "peer_seen", node: "2", connected: false }], [5000, { type: "tick" }], [6000, { type: "peer_seen", node: "2", connected: true }]], reloaded);
  assert.deepEqual(changes.map(summary), ["PhalanxNodeDown resolved"]);
  assert.equal(changes[0]!.fingerprint, first.changes[0]!.fingerprint);
});
