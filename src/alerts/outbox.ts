// The outbox in the replicated store: one key per pending (channel, alert, status) delivery and one
// per firing alert, written through Raft by the leader. A new leader therefore finds everything
// the old one had not delivered, and the firing alerts it must not raise again. Keys and the
// eviction choice come from core/outbox-plan.ts.
import type { Logger } from "pino";
import type { TxnOp } from "../kv/store.js";
import type { Replica } from "../server/replica.js";
import type { Alert } from "./core/model.js";
import { ACTIVE_PREFIX, OUTBOX_PREFIX, activeKey, evictions, outboxKey, parseOutboxKey } from "./core/outbox-plan.js";
import type { OutboxItem } from "./core/outbox-plan.js";

/** What the alerts need of a replica (a subset of server/replica.ts's Replica). */
export type AlertReplica = Pick<Replica, "id" | "propose" | "localPrefix" | "status" | "onLeaderChange" | "linearizableBarrier" | "leaderId" | "kv">;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads and writes the alert keys of the store. */
export class AlertOutbox {
  /** The parsed outbox at a store revision: the dispatcher scans often, the outbox changes rarely. */
  private cache: { readonly revision: number; readonly items: readonly OutboxItem[] } | null = null;

  constructor(
    private readonly replica: AlertReplica,
    private readonly channels: readonly string[],
    private readonly maxPendingPerChannel: number,
    private readonly log: Logger,
  ) {}

  /** Every pending delivery in the local store (complete on a leader after its first read barrier). */
  pending(): readonly OutboxItem[] {
    const revision = this.replica.kv.revision;
    if (this.cache?.revision === revision) return this.cache.items;
    const items: OutboxItem[] = [];
    for (const kv of this.replica.localPrefix(OUTBOX_PREFIX)) {
      const parsed = parseOutboxKey(kv.key);
      const alert = parsed === null ? null : this.decode(kv.key, kv.value);
      if (parsed === null || alert === null) continue;
      items.push({ key: kv.key, channel: parsed.channel, alert, createRevision: kv.createRevision });
    }
    this.cache = { revision, items };
    return items;
  }

  /** The firing alerts recorded in the store. */
  activeAlerts(): Alert[] {
    return this.replica.localPrefix(ACTIVE_PREFIX).map((kv) => this.decode(kv.key, kv.value)).filter((a): a is Alert => a !== null);
  }

  /**
   * Records one alert change in one transaction: the firing record (put or deleted) and a pending
   * delivery per channel, making room in a full channel by dropping its oldest items (logged).
   */
  async record(alert: Alert): Promise<void> {
    const ops: TxnOp[] = [];
    const value = encoder.encode(JSON.stringify(alert));
    if (alert.status === "firing") ops.push({ type: "put", key: activeKey(alert.fingerprint), value });
    else ops.push({ type: "delete", key: activeKey(alert.fingerprint) });
    const pending = this.pending();
    for (const channel of this.channels) {
      const key = outboxKey(channel, alert.fingerprint, alert.status);
      for (const dropped of evictions(pending.filter((i) => i.channel === channel), [key], this.maxPendingPerChannel)) {
        this.log.warn({ channel, alert: dropped.alert.name, status: dropped.alert.status, fingerprint: dropped.alert.fingerprint },
          `Alert outbox of channel ${channel} is full (${this.maxPendingPerChannel} pending): dropping the oldest ${dropped.alert.status} alert ${dropped.alert.name} undelivered`);
        ops.push({ type: "delete", key: dropped.key });
      }
      ops.push({ type: "put", key, value });
    }
    await this.replica.propose({ type: "txn", compares: [], success: ops, failure: [] });
  }

  /** Deletes a delivered (or abandoned) item. */
  async remove(key: string): Promise<void> {
    await this.replica.propose({ type: "delete", key });
  }

  private decode(key: string, value: Uint8Array): Alert | null {
    try {
      return JSON.parse(decoder.decode(value)) as Alert;
    } catch (err) {
      this.log.error({ key, err }, `Alert record ${key} is not valid JSON: ignoring it (it was not written by this version of Phalanx)`);
      return null;
    }
  }
}
