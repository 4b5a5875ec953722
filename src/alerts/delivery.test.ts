// The outbox and its delivery on in-process clusters (server/testing.ts): retries with backoff,
// a dead receiver beside a live one, and an outbox that survives a change of leader without
// delivering anything twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { LocalCluster, pollUntil } from "../server/testing.js";
import type { NodeId } from "../raft/raft.js";
import { WebhookReceiver } from "../testing/alert-receivers.js";
import { alertsConfigSchema } from "./config.js";
import type { AlertsConfig } from "./config.js";
import { OUTBOX_PREFIX } from "./core/outbox-plan.js";
import type { AttemptResult } from "./dispatcher.js";
import { AlertManager } from "./manager.js";
import { webhookChannel } from "./webhook.js";

const silent = pino({ level: "silent" });

function config(channels: { name: string; url: string }[], delivery: Record<string, number> = {}): AlertsConfig {
  return alertsConfigSchema.parse({
    channels: channels.map((c) => ({ type: "webhook", ...c })),
    delivery: { timeoutMs: 2000, backoffInitialMs: 20, backoffMaxMs: 200, scanIntervalMs: 20, sampleIntervalMs: 50, ...delivery },
  });
}

function managerFor(cluster: LocalCluster, id: NodeId, cfg: AlertsConfig, attempts: AttemptResult[]): AlertManager {
  const replica = cluster.replica(id);
  return new AlertManager({
    replica, config: cfg, clusterId: "test", logger: silent,
    channels: cfg.channels.map((c) => (c.type === "webhook" ? webhookChannel(c, "") : assert.fail("webhook only"))),
    peerLinks: () => cluster.members.get(id)?.transport.stats().peers ?? [],
    onAttempt: (r) => attempts.push(r),
  });
}

const noHealthy = (service: string) => ({ type: "service_health", service, healthy: 0, total: 2 }) as const;
const firingBodies = (r: WebhookReceiver, service: string) =>
  r.bodies.filter((b) => { const a = (b as { alerts: { labels: Record<string, string>; status: string }[] }).alerts[0]!; return a.labels.service === service; });

test("a failing receiver is retried with backoff until it accepts, then the outbox entry is deleted", async (t) => {
  const cluster = await LocalCluster.start(1);
  t.after(() => cluster.close());
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const leader = await cluster.waitForLeader();
  const attempts: AttemptResult[] = [];
  const manager = managerFor(cluster, leader.id, config([{ name: "hook", url: receiver.url }]), attempts);
  t.after(() => manager.stop());
  manager.start();
  await pollUntil(() => (manager.active ? true : undefined), 5000, "the manager to become active");
  receiver.script.push("fail", "fail");
  manager.observe(noHealthy("web"));
  await pollUntil(() => (receiver.bodies.length === 1 && leader.localPrefix(OUTBOX_PREFIX).length === 0 ? true : undefined), 10_000, "the delivery and the deletion of its outbox entry");
  assert.equal(receiver.attempts, 3);
  assert.deepEqual(attempts.map((a) => [a.attempt, a.ok]), [[1, false], [2, false], [3, true]]);
  assert.match(attempts[0]!.error ?? "", /answered 503/);
  // Re-observing the same condition raises nothing new: the alert is already firing.
  manager.observe(noHealthy("web"));
  await manager.settled();
  assert.equal(leader.localPrefix(OUTBOX_PREFIX).length, 0);
  assert.equal(receiver.attempts, 3);
});

test("a receiver that never answers does not hold up another channel or the store", async (t) => {
  const cluster = await LocalCluster.start(1);
  t.after(() => cluster.close());
  const dead = await WebhookReceiver.start();
  const live = await WebhookReceiver.start();
  t.after(() => Promise.all([dead.close(), live.close()]));
  dead.fallback = "hang";
  const leader = await cluster.waitForLeader();
  const attempts: AttemptResult[] = [];
  const manager = managerFor(cluster, leader.id, config([{ name: "dead", url: dead.url }, { name: "live", url: live.url }], { timeoutMs: 60_000, concurrencyPerChannel: 2 }), attempts);
  t.after(() => manager.stop());
  manager.start();
  await pollUntil(() => (manager.active ? true : undefined), 5000, "the manager to become active");
  const services = ["a", "b", "c", "d", "e"];
  for (const s of services) manager.observe(noHealthy(s));
  await pollUntil(() => (live.bodies.length === services.length ? true : undefined), 10_000, "the live channel to get every alert");
  await pollUntil(() => (dead.attempts === 2 ? true : undefined), 10_000, "the dead channel to hold its two concurrent attempts");
  await leader.propose({ type: "put", key: "still-writable", value: new TextEncoder().encode("yes") });
  assert.equal(dead.bodies.length, 0);
  assert.equal(attempts.filter((a) => a.channel === "dead").length, 0, "the dead channel's attempts are still pending");
  const pendingDead = leader.localPrefix(`${OUTBOX_PREFIX}dead/`).length;
  assert.equal(pendingDead, services.length, "the dead channel keeps its items");
  // A delivered item is deleted after its receiver answered: the deletion may still be committing.
  await pollUntil(() => (leader.localPrefix(`${OUTBOX_PREFIX}live/`).length === 0 ? true : undefined), 10_000, "the live channel's delivered items to leave the outbox");
});

test("the outbox survives a change of leader: what the old leader had not delivered is delivered once by the new one", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const cfg = config([{ name: "hook", url: receiver.url }]);
  const attempts = new Map<NodeId, AttemptResult[]>();
  const managers = new Map<NodeId, AlertManager>();
  for (const id of cluster.members.keys()) {
    attempts.set(id, []);
    managers.set(id, managerFor(cluster, id, cfg, attempts.get(id)!));
  }
  t.after(() => { for (const m of managers.values()) m.stop(); });
  for (const m of managers.values()) m.start();
  const first = await cluster.waitForLeader();
  const firstManager = managers.get(first.id)!;
  await pollUntil(() => (firstManager.active ? true : undefined), 5000, "the first leader's manager to become active");
  assert.equal([...managers.values()].filter((m) => m.active).length, 1, "only the leader's manager is active");

  // Alert "before" is delivered (and its entry deleted) by the first leader.
  firstManager.observe(noHealthy("before"));
  await pollUntil(() => (firingBodies(receiver, "before").length === 1 && first.localPrefix(OUTBOX_PREFIX).length === 0 ? true : undefined), 10_000, "delivery of the first alert");

  // Alert "during" fails at the receiver while the first leader is alive; then that leader dies.
  receiver.fallback = "fail";
  firstManager.observe(noHealthy("during"));
  await pollUntil(() => ((attempts.get(first.id) ?? []).some((a) => !a.ok) ? true : undefined), 10_000, "a failed attempt on the first leader");
  firstManager.stop();
  managers.delete(first.id);
  await cluster.stopNode(first.id);
  receiver.fallback = "ok";

  const second = await cluster.waitForLeader();
  assert.notEqual(second.id, first.id);
  const secondManager = managers.get(second.id)!;
  await pollUntil(() => (firingBodies(receiver, "during").length === 1 && second.localPrefix(OUTBOX_PREFIX).length === 0 ? true : undefined), 10_000, "the new leader to deliver the pending alert");
  // The new leader loaded the firing alerts: observing the same conditions raises nothing again.
  secondManager.observe(noHealthy("during"));
  secondManager.observe(noHealthy("before"));
  await secondManager.settled();
  assert.equal(second.localPrefix(OUTBOX_PREFIX).length, 0);
  assert.equal(firingBodies(receiver, "before").length, 1, "the delivered alert is not delivered again");
  assert.equal(firingBodies(receiver, "during").length, 1);
  assert.ok((attempts.get(second.id) ?? []).some((a) => a.ok && a.status === "firing"));
});

test("a follower that stops is reported down by the leader after nodeDownAfterMs, and up when it is back", async (t) => {
  const cluster = await LocalCluster.start(3);
  t.after(() => cluster.close());
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const cfg = alertsConfigSchema.parse({
    channels: [{ type: "webhook", name: "hook", url: receiver.url }],
    thresholds: { nodeDownAfterMs: 300 },
    delivery: { backoffInitialMs: 20, backoffMaxMs: 200, scanIntervalMs: 20, sampleIntervalMs: 50 },
  });
  const leader = await cluster.waitForLeader();
  const manager = managerFor(cluster, leader.id, cfg, []);
  t.after(() => manager.stop());
  manager.start();
  await pollUntil(() => (manager.active ? true : undefined), 5000, "the manager to become active");
  const follower = [...cluster.members.keys()].find((id) => id !== leader.id)!;
  await cluster.stopNode(follower);
  const nodeDown = (status: string) => receiver.bodies.filter((b) => {
    const a = (b as { alerts: { labels: Record<string, string>; status: string }[] }).alerts[0]!;
    return a.labels.alertname === "PhalanxNodeDown" && a.labels.node === String(follower) && a.status === status;
  });
  await pollUntil(() => (nodeDown("firing").length === 1 ? true : undefined), 10_000, `node ${follower} reported down`);
  await cluster.startNode(follower);
  await pollUntil(() => (nodeDown("resolved").length === 1 ? true : undefined), 10_000, `node ${follower} reported up`);
  assert.equal(nodeDown("firing").length, 1, "reported down once");
  assert.equal(receiver.bodies.length, 2, "nothing else was raised");
});

test("a full outbox drops its oldest items for a channel whose receiver is dead, and keeps the newest", async (t) => {
  const cluster = await LocalCluster.start(1);
  t.after(() => cluster.close());
  const dead = await WebhookReceiver.start();
  t.after(() => dead.close());
  dead.fallback = "fail";
  const leader = await cluster.waitForLeader();
  const manager = managerFor(cluster, leader.id, config([{ name: "dead", url: dead.url }], { maxPendingPerChannel: 2, backoffInitialMs: 60_000, backoffMaxMs: 60_000 }), []);
  t.after(() => manager.stop());
  manager.start();
  await pollUntil(() => (manager.active ? true : undefined), 5000, "the manager to become active");
  for (const s of ["s1", "s2", "s3", "s4"]) manager.observe(noHealthy(s));
  await manager.settled();
  const kept = manager.view().pending.map((p) => p.fingerprint);
  const active = manager.view().active;
  assert.equal(active.length, 4, "every alert is still recorded as firing");
  const newest = active.filter((a) => a.labels.service === "s3" || a.labels.service === "s4").map((a) => a.fingerprint);
  assert.deepEqual([...kept].sort(), [...newest].sort());
});
