// Removes expired front keys through Raft, and keeps the fronts' key and byte counts for the bounds.
// Every node keeps an ExpiryIndex of the fronts' keys, fed by its replica's applied changes, so the
// counts are exact after each applied batch and no sweep reads keys that are not due: a sweep costs
// O(due · log n), whatever the number of live keys. Only at attach and after a snapshot install is
// the namespace read in full, in pages of `pageKeys` (each O(log n + pageKeys)) with a yield to the
// event loop between them, so Raft ticks, heartbeats and ReadIndex rounds keep running.
// The leader deletes due keys in txns of at most MAX_TXN_OPS keys, each guarded by the mod revision
// it saw, so a key re-set in the meantime survives (a failed batch is retried key by key). Readers
// never depend on the sweep: they treat expired keys as missing (keyspace.ts), so the sweep only
// reclaims space — within one interval plus the backlog over `deletesPerSweepMax`.
import { MAX_TXN_OPS, prefixEnd } from "../../kv/store.js";
import type { Compare, TxnOp } from "../../kv/store.js";
import { ExpiryIndex, FRONTS_ROOT, expiryOf } from "./expiry-index.js";
import type { FrontStore } from "./front-store.js";
import type { FrontUsage } from "./usage.js";

export { FRONTS_ROOT };

/** Options of a sweeper. */
export interface SweeperOptions {
  readonly store: FrontStore;
  readonly usage: FrontUsage;
  readonly nowMs: () => number;
  readonly intervalMs: number;
  /** Keys read per page of a full scan (one synchronous slice of the event loop). */
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
  private readonly index = new ExpiryIndex();
  private unsubscribe: (() => void) | null = null;
  /** Bumped by every full scan started; an older scan sees the change and gives up. */
  private scanEpoch = 0;
  private scanned: Promise<void> | null = null;
  private indexReady = false;
  private scanFailed = false;
  /** Keys deleted by this node's sweeps since start (INFO expired_keys). */
  expiredKeys = 0;
  /** Keys read by full scans since start (at attach and after snapshot installs only). */
  entriesScanned = 0;

  constructor(private readonly o: SweeperOptions) {}

  /** Index entries sweeps have taken since start (due keys and stale deadlines): the work of the sweeps. */
  get entriesTouched(): number {
    return this.index.entriesTouched;
  }

  start(): void {
    this.attach();
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.scanEpoch++;
    this.unsubscribe?.();
    this.unsubscribe = null;
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

  /** Follows the replica's changes and starts the first full scan (idempotent). */
  private attach(): Promise<void> {
    if (this.unsubscribe === null && !this.stopped) {
      this.unsubscribe = this.o.store.onLocalChanges((keys) => this.onChanges(keys));
      this.rescan();
    } else if (this.scanFailed && !this.stopped) {
      this.rescan();
    }
    return this.scanned ?? Promise.resolve();
  }

  private onChanges(keys: readonly string[] | null): void {
    if (keys === null) {
      this.rescan(); // a snapshot replaced the store: keys may have vanished without a change event
      return;
    }
    let ours = false;
    for (const key of keys) {
      if (!key.startsWith(FRONTS_ROOT)) continue;
      this.index.set(key, this.o.store.localGet(key));
      ours = true;
    }
    if (ours && this.indexReady) this.publishUsage();
  }

  /**
   * Reads the whole namespace into a fresh index, a page per event-loop turn. Changes applied
   * meanwhile go to the index too: both record the key's latest local version, so the order of a
   * change event and the page that reads the same key does not matter.
   */
  private rescan(): void {
    const epoch = ++this.scanEpoch;
    this.indexReady = false;
    this.scanFailed = false;
    this.index.clear();
    const pageKeys = this.o.pageKeys ?? 1000;
    const end = prefixEnd(FRONTS_ROOT);
    // Never rejects (a snapshot-triggered scan has no one awaiting it): a failure is reported and the
    // next sweep starts the scan again.
    this.scanned = (async () => {
      let from = FRONTS_ROOT;
      for (;;) {
        if (epoch !== this.scanEpoch) return;
        const kvs = this.o.store.localPage(from, end, pageKeys);
        for (const kv of kvs) this.index.set(kv.key, kv);
        this.entriesScanned += kvs.length;
        if (kvs.length < pageKeys) break;
        from = `${(kvs[kvs.length - 1] as { key: string }).key}\u0000`;
        await new Promise((r) => setImmediate(r));
      }
      if (epoch !== this.scanEpoch) return;
      this.indexReady = true;
      this.publishUsage();
    })().catch((err: unknown) => {
      if (epoch === this.scanEpoch) this.scanFailed = true;
      this.o.onError?.(err);
    });
  }

  private publishUsage(): void {
    this.o.usage.counted(this.index.keys, this.index.bytes, this.index.databases);
  }

  /** On the leader, deletes the keys whose deadline passed; resolves with the keys deleted. */
  async sweepOnce(): Promise<number> {
    await this.attach();
    // A snapshot may have restarted the scan meanwhile; a failed scan is retried by the next sweep.
    while (!this.indexReady && !this.stopped && !this.scanFailed) await this.scanned;
    if (this.scanFailed) throw new Error("The expiry index scan failed (reported via onError); the next sweep scans again");
    if (this.stopped || !this.o.store.isLeader()) return 0;
    const now = this.o.nowMs();
    const taken = this.index.takeDue(now, this.o.deletesPerSweepMax ?? 10_000);
    const due: Due[] = [];
    for (const key of taken) {
      const kv = this.o.store.localGet(key);
      const expireAtMs = kv === undefined ? null : expiryOf(kv.value);
      if (kv !== undefined && expireAtMs !== null && expireAtMs !== 0 && expireAtMs <= now) due.push({ key, modRevision: kv.modRevision });
    }
    let deleted = 0;
    try {
      for (let i = 0; i < due.length && !this.stopped; i += MAX_TXN_OPS) deleted += await this.deleteBatch(due.slice(i, i + MAX_TXN_OPS));
    } finally {
      // Keys not deleted (a failed txn, a lost leadership) wait for the next sweep; deleted ones are no longer tracked.
      this.index.requeue(taken);
      this.expiredKeys += deleted;
    }
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
