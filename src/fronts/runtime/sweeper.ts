// Removes expired front keys through Raft, and counts the fronts' keys and bytes for the bounds.
// Every node scans its local copy of the fronts' namespace each interval (in pages, yielding between
// them) to count usage; the leader also collects keys whose deadline passed and deletes them in
// txns of at most MAX_TXN_OPS keys, each guarded by the mod revision it saw, so a key re-set in the
// meantime survives (a failed batch is retried key by key). Readers never depend on the sweep: they
// treat expired keys as missing (keyspace.ts), so the sweep only reclaims space — within one
// interval plus the backlog over `deletesPerSweepMax`.
import { MAX_TXN_OPS, prefixEnd } from "../../kv/store.js";
import type { Compare, TxnOp } from "../../kv/store.js";
import { ENTRY_FORMAT_VERSION, ENTRY_HEADER_BYTES } from "../codec/store-format.js";
import type { FrontStore } from "./front-store.js";
import type { FrontUsage } from "./usage.js";

/** Root of every front's keys (store-format.ts frontPrefix). */
export const FRONTS_ROOT = "/phalanx/fronts/";

/** Options of a sweeper. */
export interface SweeperOptions {
  readonly store: FrontStore;
  readonly usage: FrontUsage;
  readonly nowMs: () => number;
  readonly intervalMs: number;
  /** Keys read per page of the scan (one synchronous slice of the event loop). */
  readonly pageKeys?: number;
  /** Deletes proposed per sweep at most; the rest wait for the next sweep. */
  readonly deletesPerSweepMax?: number;
  /** Told about a failed sweep (logged by the caller); the next interval tries again. */
  readonly onError?: (err: unknown) => void;
}

interface Due {
  readonly key: string;
  readonly modRevision: number;
}

/** Runs sweeps on a timer; `sweepOnce` is the whole job, exposed for tests. */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  /** Keys deleted by this node's sweeps since start (INFO expired_keys). */
  expiredKeys = 0;

  constructor(private readonly o: SweeperOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      await this.sweepOnce();
    } catch (err) {
      this.o.onError?.(err);
    } finally {
      this.running = false;
    }
  }

  /** One scan (usage counted) and, on the leader, the deletion of due keys; resolves with the keys deleted. */
  async sweepOnce(): Promise<number> {
    const pageKeys = this.o.pageKeys ?? 1000;
    const deletesMax = this.o.deletesPerSweepMax ?? 10_000;
    const leader = this.o.store.isLeader();
    const due: Due[] = [];
    let keys = 0;
    let bytes = 0;
    const databases = new Map<number, { keys: number; expires: number }>();
    let after: string | null = null;
    const now = this.o.nowMs();
    for (;;) {
      const key: string = after === null ? FRONTS_ROOT : `${after}\u0000`;
      const { kvs, more } = await this.o.store.range({ key, rangeEnd: prefixEnd(FRONTS_ROOT), limit: pageKeys }, true);
      for (const kv of kvs) {
        keys++;
        bytes += kv.key.length + kv.value.length;
        const expireAtMs = expiryOf(kv.value);
        const db = redisDatabaseOf(kv.key);
        if (db !== null) {
          const counts = databases.get(db) ?? { keys: 0, expires: 0 };
          counts.keys++;
          if (expireAtMs !== null && expireAtMs !== 0) counts.expires++;
          databases.set(db, counts);
        }
        if (leader && due.length < deletesMax && expireAtMs !== null && expireAtMs !== 0 && expireAtMs <= now) due.push({ key: kv.key, modRevision: kv.modRevision });
      }
      if (!more || kvs.length === 0 || this.stopped) break;
      after = (kvs[kvs.length - 1] as { key: string }).key;
      await new Promise((r) => setImmediate(r));
    }
    this.o.usage.counted(keys, bytes, databases);
    let deleted = 0;
    for (let i = 0; i < due.length && !this.stopped; i += MAX_TXN_OPS) deleted += await this.deleteBatch(due.slice(i, i + MAX_TXN_OPS));
    this.expiredKeys += deleted;
    return deleted;
  }

  /** Deletes a batch guarded by mod revisions; when one key changed, retries the others one by one. */
  private async deleteBatch(batch: readonly Due[]): Promise<number> {
    const txn = (items: readonly Due[]) => {
      const compares: Compare[] = items.map((d) => ({ key: d.key, target: "modRevision", op: "=", value: d.modRevision }));
      const success: TxnOp[] = items.map((d) => ({ type: "delete", key: d.key }));
      return this.o.store.txn({ compares, success, failure: [] });
    };
    if ((await txn(batch)).succeeded) return batch.length;
    let deleted = 0;
    for (const d of batch) if ((await txn([d])).succeeded) deleted++;
    return deleted;
  }
}

const REDIS_ROOT = `${FRONTS_ROOT}redis/`;

/** A RESP key's database number, or null for other keys. */
function redisDatabaseOf(storeKey: string): number | null {
  if (!storeKey.startsWith(REDIS_ROOT)) return null;
  const slash = storeKey.indexOf("/", REDIS_ROOT.length);
  const db = Number(storeKey.slice(REDIS_ROOT.length, slash));
  return slash > 0 && Number.isSafeInteger(db) ? db : null;
}

/** The expiry in an entry's header (0: never), or null when the value is not an entry; no payload decoding. */
function expiryOf(value: Uint8Array): number | null {
  if (value.length < ENTRY_HEADER_BYTES || value[0] !== ENTRY_FORMAT_VERSION) return null;
  const at = new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(2);
  return at > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(at);
}
