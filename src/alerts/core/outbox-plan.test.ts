import { test } from "node:test";
import assert from "node:assert/strict";
import { deliverable, evictions, outboxKey, parseOutboxKey, retryDelayMs } from "./outbox-plan.js";
import type { OutboxItem } from "./outbox-plan.js";
import { firingAlert, resolvedAlert } from "./model.js";

function item(channel: string, name: string, status: "firing" | "resolved", rev: number): OutboxItem {
  const firing = firingAlert({ name, severity: "warning", labels: {}, summary: name, description: name }, 0);
  const alert = status === "firing" ? firing : resolvedAlert(firing, 1);
  return { key: outboxKey(channel, alert.fingerprint, status), channel, alert, createRevision: rev };
}

test("outbox keys round-trip and foreign keys are not parsed", () => {
  const k = outboxKey("ops-mail", "0123456789abcdef", "resolved");
  assert.deepEqual(parseOutboxKey(k), { channel: "ops-mail", fingerprint: "0123456789abcdef", status: "resolved" });
  assert.equal(parseOutboxKey("/phalanx/cluster/alerts/active/0123456789abcdef"), null);
  assert.equal(parseOutboxKey(`${k}x`), null);
});

test("retry delays double from the initial delay up to the cap", () => {
  const policy = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(n, policy)), [100, 200, 400, 800, 1000, 1000]);
});

test("deliverable keeps a resolved behind its firing and skips fingerprints in flight", () => {
  const aFiring = item("w", "A", "firing", 1);
  const bFiring = item("w", "B", "firing", 2);
  const aResolved = item("w", "A", "resolved", 3);
  assert.deepEqual(deliverable([aResolved, bFiring, aFiring], new Set()).map((i) => i.key), [aFiring.key, bFiring.key]);
  assert.deepEqual(deliverable([aResolved, bFiring], new Set([bFiring.alert.fingerprint])).map((i) => i.key), [aResolved.key]);
});

test("a full outbox drops the oldest resolved first, then the oldest firing", () => {
  const items = [item("w", "A", "firing", 1), item("w", "B", "resolved", 2), item("w", "C", "resolved", 3), item("w", "D", "firing", 4)];
  assert.deepEqual(evictions(items, ["new1"], 4).map((i) => i.alert.name), ["B"]);
  assert.deepEqual(evictions(items, ["new1", "new2", "new3"], 4).map((i) => i.alert.name), ["B", "C", "A"]);
  assert.deepEqual(evictions(items, [items[0]!.key], 4), [], "replacing a key takes no room");
});
