// A node whose wall clock runs 2 s ahead, in a 3-node cluster of full nodes in this process: the
// leader measures it over its heartbeats and reports it on /metrics, `phalanx status` warns, the
// clock_skew alert fires at the webhook, the dashboard's node table highlights it; once the clock is set right the alert resolves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxClient } from "../client/client.js";
import { clusterStatus, renderStatus } from "../cli/commands/status.js";
import { InProcessNodes } from "../testing/in-process-nodes.js";
import { WebhookReceiver } from "../testing/alert-receivers.js";
import { pollUntil } from "./testing.js";

const SKEWED = 2;
const OFFSET_MS = 2000;

async function until<T>(probe: () => Promise<T | undefined>, deadlineMs: number, what: string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > deadlineMs) throw new Error(`Timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a node 2 s ahead shows in the leader's metrics, as a status warning and as a clock-skew alert that resolves", { timeout: 90_000 }, async (t) => {
  const receiver = await WebhookReceiver.start();
  t.after(() => receiver.close());
  let offsetMs = OFFSET_MS;
  const cluster = await InProcessNodes.start(3, {
    alerts: { channels: [{ type: "webhook", name: "hook", url: receiver.url }], delivery: { sampleIntervalMs: 100, scanIntervalMs: 100 } },
    nodeOptions: (id) => (id === SKEWED ? { wallClockMs: () => Date.now() + offsetMs } : {}),
  });
  t.after(() => cluster.close());
  const leader = await pollUntil(() => cluster.leader(), 30_000, "a leader");
  // Skew is relative to the leader: if the skewed node leads, the two others are 2 s behind it.
  const expected = new Map([1, 2, 3].map((id) => [id, (id === SKEWED ? OFFSET_MS : 0) - (leader === SKEWED ? OFFSET_MS : 0)]));
  const skewed = [...expected].filter(([, ms]) => ms !== 0).map(([id]) => id);
  const token = cluster.files.clientToken;
  const leaderUrl = `http://${cluster.nodes.get(leader)!.clientAddress}`;

  const metrics = await until(async () => {
    const text = await (await fetch(`${leaderUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const values = new Map([...text.matchAll(/^phalanx_clock_skew_seconds\{node="(\d+)"\} (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]));
    return values.size === 3 ? values : undefined;
  }, 20_000, "the leader to report the skew of all three nodes");
  for (const [id, ms] of expected) assert.ok(Math.abs(metrics.get(id)! * 1000 - ms) < 200, `node ${id}: ${metrics.get(id)} s, expected ${ms / 1000} s`);

  // The dashboard's node table, served by a follower: the skewed node's row is highlighted, the others not.
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const rows = await until(async () => {
    const r = await fetch(`http://${cluster.nodes.get(follower)!.clientAddress}/v3/phalanx/dashboard/state`, { headers: { authorization: `Bearer ${cluster.files.adminToken}` } });
    const state = (await r.json()) as { nodes: { id: number; clockSkewMs: number | null; clockSkewed: boolean }[] };
    return state.nodes.length === 3 && state.nodes.every((n) => n.clockSkewMs !== null) ? state.nodes : undefined;
  }, 20_000, "the dashboard to show the skew of all three nodes");
  for (const n of rows) {
    assert.ok(Math.abs(n.clockSkewMs! - expected.get(n.id)!) < 200, `dashboard, node ${n.id}: ${n.clockSkewMs} ms, expected ${expected.get(n.id)} ms`);
    assert.equal(n.clockSkewed, skewed.includes(n.id), `dashboard, node ${n.id}: highlighted only beyond the threshold`);
  }

  const client = new PhalanxClient({ endpoints: cluster.endpoints(), token });
  t.after(() => client.close());
  const warnings = await until(async () => {
    const w = renderStatus(await clusterStatus(client), () => undefined);
    return w.length === skewed.length ? w : undefined;
  }, 20_000, "phalanx status to warn of the skewed clock");
  for (const id of skewed) assert.ok(warnings.some((w) => w.startsWith(`WARNING: the clock of node ${id} (n${id}) is 2.0s`)), warnings.join("\n"));

  const seen = (status: string): string[] => receiver.bodies.flatMap((b) => (b as { alerts: { labels: Record<string, string>; status: string }[] }).alerts)
    .filter((a) => a.labels.alertname === "PhalanxClockSkew" && a.status === status).map((a) => a.labels.node!);
  await pollUntil(() => (skewed.every((id) => seen("firing").includes(String(id))) ? true : undefined), 20_000, "the clock-skew alerts");

  offsetMs = 0;
  await pollUntil(() => (skewed.every((id) => seen("resolved").includes(String(id))) ? true : undefined), 30_000, "the clock-skew alerts to resolve");
  assert.deepEqual(seen("firing").sort(), skewed.map(String).sort(), "one firing alert per skewed node, no repeats");
  // A follower hears its own offset with the leader's next probe, a second later at most.
  await until(async () => ((renderStatus(await clusterStatus(client), () => undefined)).length === 0 ? true : undefined), 20_000, "the status warning to go once the clocks agree");
});
