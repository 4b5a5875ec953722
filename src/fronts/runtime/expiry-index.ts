// What the sweeper knows about the fronts' keys without scanning them: per key its size, expiry and
// RESP database, the running totals the usage bounds and INFO keyspace need, and a min-heap of
// expiry deadlines, so a sweep finds due keys in O(due · log n) instead of reading every key.
// It is fed the local replica's applied changes (sweeper.ts), so it is the same on every node.
// Heap entries are never updated in place (DeadlineHeap): a changed key gets a new generation and a
// new entry, the old one goes stale and is dropped when it reaches the top or at a compaction.
import { DeadlineHeap } from "../../kv/deadline-heap.js";
import type { KeyValue } from "../../kv/store.js";
import { ENTRY_FORMAT_VERSION, ENTRY_HEADER_BYTES } from "../codec/store-format.js";

/** Root of every front's keys (store-format.ts frontPrefix). */
export const FRONTS_ROOT = "/phalanx/fronts/";
const REDIS_ROOT = `${FRONTS_ROOT}redis/`;

/** Stale heap entries tolerated beyond the live ones before the heap is rebuilt (amortised O(1) per change). */
const HEAP_SLACK = 1024;

interface Tracked {
  readonly bytes: number;
  /** 0: no expiry (or not an entry). */
  readonly expireAtMs: number;
  readonly db: number | null;
  readonly generation: number;
  /** Whether a heap entry of this generation is waiting (false once taken as due, until requeued). */
  queued: boolean;
}

/** Per-database counts for INFO keyspace. */
export interface DatabaseCounts {
  keys: number;
  expires: number;
}

/** The fronts' keys by deadline, with running totals. */
export class ExpiryIndex {
  private readonly tracked = new Map<string, Tracked>();
  private readonly keyOfGeneration = new Map<number, string>();
  private readonly heap = new DeadlineHeap();
  private nextGeneration = 1;
  private queuedCount = 0;
  keys = 0;
  bytes = 0;
  /** RESP databases: keys and keys with an expiry (mutated in place; INFO reads it). */
  readonly databases = new Map<number, DatabaseCounts>();
  /** Heap entries taken by takeDue since creation, stale ones included: the work sweeps did. */
  entriesTouched = 0;

  /** Forgets everything (a snapshot replaced the store; a rescan follows). */
  clear(): void {
    this.tracked.clear();
    this.keyOfGeneration.clear();
    this.heap.clear();
    this.queuedCount = 0;
    this.keys = 0;
    this.bytes = 0;
    this.databases.clear();
  }

  /** Records a key's live version, or its removal (kv undefined). */
  set(key: string, kv: KeyValue | undefined): void {
    this.remove(key);
    if (kv === undefined) return;
    const expireAtMs = expiryOf(kv.value) ?? 0;
    const db = redisDatabaseOf(key);
    const t: Tracked = { bytes: key.length + kv.value.length, expireAtMs, db, generation: this.nextGeneration++, queued: false };
    this.tracked.set(key, t);
    this.keys++;
    this.bytes += t.bytes;
    if (db !== null) {
      const counts = this.databases.get(db) ?? { keys: 0, expires: 0 };
      counts.keys++;
      if (expireAtMs !== 0) counts.expires++;
      this.databases.set(db, counts);
    }
    if (expireAtMs !== 0) {
      this.keyOfGeneration.set(t.generation, key);
      this.enqueue(t);
    }
  }

  /**
   * Takes up to `max` keys whose deadline is at or before `nowMs`, earliest first. They stay tracked
   * (they are live until their delete is applied); `requeue` puts back those a sweep did not delete.
   */
  takeDue(nowMs: number, max: number): string[] {
    const due: string[] = [];
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.atMs > nowMs || due.length >= max) break;
      this.heap.pop();
      this.entriesTouched++;
      const key = this.keyOfGeneration.get(top.generation);
      const t = key === undefined ? undefined : this.tracked.get(key);
      if (key === undefined || t === undefined || t.generation !== top.generation || !t.queued) continue; // stale
      t.queued = false;
      this.queuedCount--;
      due.push(key);
    }
    return due;
  }

  /** Puts back keys taken by takeDue that are still tracked unchanged (their delete failed or was refused). */
  requeue(keys: readonly string[]): void {
    for (const key of keys) {
      const t = this.tracked.get(key);
      if (t !== undefined && !t.queued && t.expireAtMs !== 0) this.enqueue(t);
    }
  }

  /** Heap entries held, stale ones included (for tests of the compaction). */
  get heapSize(): number {
    return this.heap.size;
  }

  private enqueue(t: Tracked): void {
    t.queued = true;
    this.queuedCount++;
    this.heap.push({ atMs: t.expireAtMs, id: t.generation, generation: t.generation });
    if (this.heap.size > 2 * this.queuedCount + HEAP_SLACK) this.compact();
  }

  /** Rebuilds the heap from the queued keys: O(n), after at least n + HEAP_SLACK stale entries piled up. */
  private compact(): void {
    const entries = [];
    for (const t of this.tracked.values()) if (t.queued) entries.push({ atMs: t.expireAtMs, id: t.generation, generation: t.generation });
    this.heap.rebuild(entries);
  }

  private remove(key: string): void {
    const old = this.tracked.get(key);
    if (old === undefined) return;
    this.tracked.delete(key);
    this.keyOfGeneration.delete(old.generation);
    if (old.queued) this.queuedCount--; // its heap entry is stale from now on
    this.keys--;
    this.bytes -= old.bytes;
    if (old.db !== null) {
      const counts = this.databases.get(old.db);
      if (counts !== undefined) {
        counts.keys--;
        if (old.expireAtMs !== 0) counts.expires--;
        if (counts.keys === 0) this.databases.delete(old.db);
      }
    }
  }
}

/** A RESP key's database number, or null for other keys. */
function redisDatabaseOf(storeKey: string): number | null {
  if (!storeKey.startsWith(REDIS_ROOT)) return null;
  const slash = storeKey.indexOf("/", REDIS_ROOT.length);
  const db = Number(storeKey.slice(REDIS_ROOT.length, slash));
  return slash > 0 && Number.isSafeInteger(db) ? db : null;
}

/** The expiry in an entry's header (0: never), or null when the value is not an entry; no payload decoding. */
export function expiryOf(value: Uint8Array): number | null {
  if (value.length < ENTRY_HEADER_BYTES || value[0] !== ENTRY_FORMAT_VERSION) return null;
  const at = new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(2);
  return at > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(at);
}
