// The outbox's decisions, pure: where an alert waits in the replicated store, in which order a
// channel delivers, when a failed delivery is retried, and what a full outbox drops. The shell
// (../outbox.ts, ../dispatcher.ts) reads and writes the keys and runs the timers.
import type { Alert, AlertStatus } from "./model.js";

/**
 * Alert keys live under the cluster's hidden prefix (/phalanx/cluster/, see server/internal-keys.ts):
 * no client can forge or drop an alert through the KV API, and snapshot downloads leave them out.
 */
export const ALERTS_PREFIX = "/phalanx/cluster/alerts/";
/** Pending deliveries: OUTBOX_PREFIX + channel + "/" + fingerprint + "-" + status. */
export const OUTBOX_PREFIX = `${ALERTS_PREFIX}outbox/`;
/** Firing alerts: ACTIVE_PREFIX + fingerprint (a new leader loads them so it does not re-raise them). */
export const ACTIVE_PREFIX = `${ALERTS_PREFIX}active/`;

/** Channel names appear in keys and labels: short, lower case. */
export const CHANNEL_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The key of one pending delivery. Firing and resolved are distinct deliveries of one alert. */
export function outboxKey(channel: string, fingerprint: string, status: AlertStatus): string {
  return `${OUTBOX_PREFIX}${channel}/${fingerprint}-${status}`;
}

/** The parts of an outbox key, or null for a key that is not one. */
export function parseOutboxKey(key: string): { channel: string; fingerprint: string; status: AlertStatus } | null {
  const m = /^([^/]+)\/([0-9a-f]{16})-(firing|resolved)$/.exec(key.slice(OUTBOX_PREFIX.length));
  if (!key.startsWith(OUTBOX_PREFIX) || m === null) return null;
  return { channel: m[1]!, fingerprint: m[2]!, status: m[3] as AlertStatus };
}

/** The key of a firing alert. */
export function activeKey(fingerprint: string): string {
  return `${ACTIVE_PREFIX}${fingerprint}`;
}

/** One pending delivery as read from the store. */
export interface OutboxItem {
  readonly key: string;
  readonly channel: string;
  readonly alert: Alert;
  /** Store revision that created the entry: the enqueue order. */
  readonly createRevision: number;
}

/** Retry timing: exponential from initialMs, doubled per failure, capped at maxMs. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Delay before attempt `failures + 1` after `failures` failed attempts (failures ≥ 1). */
export function retryDelayMs(failures: number, policy: BackoffPolicy): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.initialMs * 2 ** exponent, policy.maxMs);
}

/**
 * The items of one channel that may be delivered now, oldest first: per fingerprint only the oldest
 * pending item (a "resolved" never overtakes its "firing"), and none whose fingerprint is in flight.
 */
export function deliverable(items: readonly OutboxItem[], inFlightFingerprints: ReadonlySet<string>): OutboxItem[] {
  const sorted = [...items].sort((a, b) => a.createRevision - b.createRevision);
  const seen = new Set<string>();
  const out: OutboxItem[] = [];
  for (const item of sorted) {
    if (seen.has(item.alert.fingerprint)) continue;
    seen.add(item.alert.fingerprint);
    if (!inFlightFingerprints.has(item.alert.fingerprint)) out.push(item);
  }
  return out;
}

/**
 * Which items of one channel to drop so that `incoming` new ones fit within `maxItems`: the oldest
 * resolved first (a missed "resolved" only leaves a receiver showing a stale problem), then the
 * oldest firing. Keys being replaced by the incoming items are not counted.
 */
export function evictions(items: readonly OutboxItem[], incomingKeys: readonly string[], maxItems: number): OutboxItem[] {
  const replaced = new Set(incomingKeys);
  const kept = items.filter((i) => !replaced.has(i.key));
  const excess = kept.length + incomingKeys.length - maxItems;
  if (excess <= 0) return [];
  const byAge = [...kept].sort((a, b) => a.createRevision - b.createRevision);
  const order = [...byAge.filter((i) => i.alert.status === "resolved"), ...byAge.filter((i) => i.alert.status === "firing")];
  return order.slice(0, excess);
}
