// Failover alerts from real agent processes: kill -9 of the active's node makes the leader's
// FailoverController report failover_begun and failover_completed (with its duration) to the
// AlertManager, and the webhook receives the PhalanxFailover firing and its resolution exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WebhookReceiver } from "../../testing/alert-receivers.js";
import { activeStandbyService, healthyActive, writeActingApp } from "../../testing/failover-testkit.js";
import { applyText, describeService, startServicesFixture, waitFor } from "../../testing/services-testkit.js";

interface WebhookAlert { status: string; labels: Record<string, string>; annotations: Record<string, string> }

test("kill -9 of the active's node: PhalanxFailover fires and resolves (with duration_ms) at the webhook exactly once", { timeout: 150_000 }, async (t) => {
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  const f = await startServicesFixture({
    alerts: {
      channels: [{ type: "webhook", name: "hook", url: receiver.url }],
      delivery: { sampleIntervalMs: 100, scanIntervalMs: 100, backoffInitialMs: 50, backoffMaxMs: 500 },
    },
  });
  t.after(() => f.close());
  const app = await writeActingApp(f);
  await applyText(f.admin, activeStandbyService(f, app));
  const describe = (): Promise<string> => describeService(f.reader, "db");
  const first = await waitFor("a healthy active", () => healthyActive(f, "db"), 30_000, describe);
  const failovers = (): WebhookAlert[] => receiver.bodies
    .map((b) => (b as { alerts: WebhookAlert[] }).alerts[0]!)
    .filter((a) => a.labels.alertname === "PhalanxFailover" && a.labels.service === "db");
  assert.deepEqual(failovers(), [], "the service's first active is no failover");

  const killedAt = performance.now();
  await f.cluster.kill(first.node);
  const second = await waitFor("a standby promoted on another node", () => healthyActive(f, "db", first.node), 30_000, describe);
  const resolved = await waitFor("the failover resolved at the webhook", async () => (failovers().some((a) => a.status === "resolved") ? performance.now() : undefined), 30_000,
    async () => JSON.stringify(receiver.bodies));
  // Let any duplicate delivery arrive before judging "exactly once": wait for the outbox to drain.
  await waitFor("the outbox drained", async () => {
    const r = await fetch(`http://${f.cluster.endpoints([second.node])[0]}/v3/phalanx/alerts`, { headers: { authorization: `Bearer ${f.cluster.token}` } });
    return r.status === 200 && ((await r.json()) as { pending: unknown[] }).pending.length === 0 ? true : undefined;
  }, 30_000);
  const seen = failovers();
  t.diagnostic(`kill -9 → PhalanxFailover resolved at the webhook after ${Math.round(resolved - killedAt)} ms; failover duration ${seen.find((a) => a.status === "resolved")?.annotations.duration_ms} ms`);
  assert.deepEqual(seen.map((a) => a.status), ["firing", "resolved"], `one firing then one resolution: ${JSON.stringify(seen)}`);
  assert.equal(seen[0]!.labels.failover_id, seen[1]!.labels.failover_id);
  assert.match(seen[1]!.annotations.duration_ms ?? "", /^\d+$/, "the resolution carries the failover's duration");
  // The leader that ran it counted it: one completed failover and one duration sample across the live nodes.
  let completed = 0;
  let durations = 0;
  for (const id of [1, 2, 3].filter((n) => n !== first.node)) {
    const r = await fetch(`http://${f.cluster.endpoints([id])[0]}/metrics`, { headers: { authorization: `Bearer ${f.cluster.token}` } });
    const text = await r.text();
    completed += Number(/^phalanx_failovers_total\{outcome="completed"\} (\d+)$/m.exec(text)?.[1] ?? "0");
    durations += Number(/^phalanx_failover_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? "0");
    assert.match(text, new RegExp(`^phalanx_service_fencing_token\\{service="db",node="${second.node}"\\} ${second.token}$`, "m"), `node ${id} reports the new active's token`);
  }
  assert.deepEqual([completed, durations], [1, 1], "one completed failover counted, with one duration sample");
  assert.equal(receiver.bodies.filter((b) => (b as { alerts: WebhookAlert[] }).alerts[0]!.labels.alertname === "PhalanxFailoverFailed").length, 0);
});
