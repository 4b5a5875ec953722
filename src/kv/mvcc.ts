// The multi-version index: every version of every key since the compaction revision, a sorted key
// list for ranges, and the change log (one entry per key change, in apply order) that watches
// replay. Versions are immutable objects shared by the histories, the log and the results.
import { inRange, RANGE_END_ALL } from "./keys.js";
import type { KeyRange, KeyValue, LeaseId, Revision, WatchEvent } from "./types.js";
import { NO_LEASE } from "./types.js";
import { SortedKeys } from "./sorted-keys.js";

/** The empty value of tombstones and keys-only reads. */
export const EMPTY_VALUE = new Uint8Array(0);

/** A page of the change log. */
export interface HistoryPage {
  readonly ok: true;
  readonly events: readonly WatchEvent[];
  /** The first revision not covered by this page. */
  readonly nextRevision: Revision;
}

function isTombstone(kv: KeyValue): boolean {
  return kv.version === 0;
}

/** The version of a history visible at `rev` (tombstones included), or undefined. */
function versionAt(h: readonly KeyValue[], rev: Revision): KeyValue | undefined {
  const last = h[h.length - 1] as KeyValue;
  if (last.modRevision <= rev) return last;
  let lo = 0;
  let hi = h.length; // find the first version with modRevision > rev
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((h[mid] as KeyValue).modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : h[lo - 1];
}

/** Versions of all keys, by key and by revision. Knows nothing of leases beyond the id on a version. */
export class MvccIndex {
  private histories = new Map<string, KeyValue[]>();
  private sortedKeys = new SortedKeys();
  private log: WatchEvent[] = [];
  private compacted: Revision = 0;

  /** Reads below this revision are gone (0 = never compacted). */
  get compactRevision(): Revision {
    return this.compacted;
  }

  /** Number of keys with any retained version (live or tombstone). */
  get indexedKeyCount(): number {
    return this.histories.size;
  }

  /** The live version of `key`, or undefined when absent or deleted. */
  latest(key: string): KeyValue | undefined {
    const h = this.histories.get(key);
    if (!h) return undefined;
    const last = h[h.length - 1] as KeyValue;
    return isTombstone(last) ? undefined : last;
  }

  /** The version of `key` visible at `rev` (undefined if absent or deleted then). Caller checks rev >= compactRevision. */
  at(key: string, rev: Revision): KeyValue | undefined {
    const h = this.histories.get(key);
    if (!h) return undefined;
    const kv = versionAt(h, rev);
    return kv === undefined || isTombstone(kv) ? undefined : kv;
  }

  /**
   * Calls `visit` for each key in `range` (ascending) with its version visible at `rev` (undefined rev = latest);
   * live versions only. A visit that returns `false` ends the walk (a bounded page need not walk the rest).
   */
  forEachInRange(range: KeyRange, rev: Revision | undefined, visit: (kv: KeyValue) => boolean | void): void {
    if (range.rangeEnd === undefined) {
      const kv = rev === undefined ? this.latest(range.key) : this.at(range.key, rev);
      if (kv) visit(kv);
      return;
    }
    const end = range.rangeEnd === RANGE_END_ALL ? undefined : range.rangeEnd;
    this.sortedKeys.forEachFrom(range.key, (key) => {
      if (end !== undefined && key >= end) return false;
      const h = this.histories.get(key) as KeyValue[];
      const kv = rev === undefined ? h[h.length - 1] : versionAt(h, rev);
      return kv === undefined || isTombstone(kv) || visit(kv) !== false;
    });
  }

  /** Records a put of `key` at `rev` and returns its event (prevKv = the live version replaced). */
  put(key: string, value: Uint8Array, lease: LeaseId, rev: Revision): WatchEvent {
    let h = this.histories.get(key);
    if (!h) {
      h = [];
      this.histories.set(key, h);
      this.sortedKeys.insert(key);
    }
    const last = h[h.length - 1];
    if (last !== undefined && last.modRevision >= rev) throw new Error(`Cannot put ${key} at revision ${rev}: it changed at ${last.modRevision}`);
    const prev = last === undefined || isTombstone(last) ? undefined : last;
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    h.push(kv);
    const event: WatchEvent = { type: "put", kv, prevKv: prev };
    this.log.push(event);
    return event;
  }

  /** Records the deletion of live `key` at `rev` and returns its event. */
  remove(key: string, rev: Revision): WatchEvent {
    const h = this.histories.get(key);
    const prev = h?.[h.length - 1];
    if (!h || prev === undefined || isTombstone(prev)) throw new Error(`Cannot delete ${key} at revision ${rev}: it is not live`);
    if (prev.modRevision >= rev) throw new Error(`Cannot delete ${key} at revision ${rev}: it changed at ${prev.modRevision}`);
    const kv: KeyValue = { key, value: EMPTY_VALUE, createRevision: 0, modRevision: rev, version: 0, lease: NO_LEASE };
    h.push(kv);
    const event: WatchEvent = { type: "delete", kv, prevKv: prev };
    this.log.push(event);
    return event;
  }

  /**
   * Drops history before `rev`: per key, every version older than the newest one below `rev` (so
   * reads at `rev` and the prevKv of changes at `rev` still work); tombstones below `rev` go too.
   */
  compact(rev: Revision): void {
    if (rev <= this.compacted) throw new Error(`Cannot compact at ${rev}: already compacted at ${this.compacted}`);
    let removedKeys = false;
    for (const [key, h] of this.histories) {
      let j = -1; // newest version below rev
      while (j + 1 < h.length && (h[j + 1] as KeyValue).modRevision < rev) j++;
      if (j < 0) continue;
      const drop = isTombstone(h[j] as KeyValue) ? j + 1 : j;
      if (drop > 0) h.splice(0, drop);
      if (h.length === 0) {
        this.histories.delete(key);
        removedKeys = true;
      }
    }
    if (removedKeys) this.sortedKeys.retain((k) => this.histories.has(k));
    this.log = this.log.slice(this.firstLogIndexAt(rev));
    this.compacted = rev;
  }

  private firstLogIndexAt(rev: Revision): number {
    const log = this.log;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((log[mid] as WatchEvent).kv.modRevision < rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Changes with fromRevision <= revision <= untilRevision in `range` (all keys if undefined), in
   * apply order. Stops at a revision boundary once `maxEvents` matched or `maxScanned` were read, so
   * a revision is never split. Caller checks fromRevision >= compactRevision.
   */
  history(fromRevision: Revision, untilRevision: Revision, range: KeyRange | undefined, maxEvents: number, maxScanned: number): HistoryPage {
    const log = this.log;
    const events: WatchEvent[] = [];
    let scanned = 0;
    let lastRev = -1;
    for (let i = this.firstLogIndexAt(fromRevision); i < log.length; i++) {
      const e = log[i] as WatchEvent;
      const rev = e.kv.modRevision;
      if (rev > untilRevision) break;
      if (rev !== lastRev && (events.length >= maxEvents || scanned >= maxScanned)) return { ok: true, events, nextRevision: rev };
      lastRev = rev;
      scanned++;
      if (range === undefined || inRange(range, e.kv.key)) events.push(e);
    }
    return { ok: true, events, nextRevision: Math.max(fromRevision, untilRevision + 1) };
  }

  /** Parts the snapshot needs: versions below the compaction revision (at most one live per key, by key), then the log. */
  exportParts(): { base: KeyValue[]; log: readonly WatchEvent[] } {
    const base: KeyValue[] = [];
    for (const key of this.sortedKeys.toArray()) {
      const h = this.histories.get(key) as KeyValue[];
      for (const kv of h) {
        if (kv.modRevision >= this.compacted) break;
        base.push(kv);
      }
    }
    return { base, log: this.log };
  }

  /** Rebuilds the index from exportParts() output (base in key order, then changes in apply order). */
  importParts(compactRevision: Revision, base: readonly KeyValue[], changes: readonly KeyValue[]): void {
    this.histories = new Map();
    this.log = [];
    this.compacted = compactRevision;
    for (const kv of base) {
      if (kv.modRevision >= compactRevision || isTombstone(kv)) throw new Error(`Cannot restore base version of ${kv.key} at ${kv.modRevision}: not a live version below ${compactRevision}`);
      const h = this.histories.get(kv.key);
      if (h) h.push(kv);
      else this.histories.set(kv.key, [kv]);
    }
    for (const kv of changes) {
      let h = this.histories.get(kv.key);
      if (!h) {
        h = [];
        this.histories.set(kv.key, h);
      }
      const last = h[h.length - 1];
      if (last !== undefined && last.modRevision >= kv.modRevision) throw new Error(`Cannot restore change of ${kv.key} at ${kv.modRevision}: out of order`);
      const prev = last === undefined || isTombstone(last) ? undefined : last;
      h.push(kv);
      this.log.push({ type: isTombstone(kv) ? "delete" : "put", kv, prevKv: prev });
    }
    this.sortedKeys = SortedKeys.fromSorted([...this.histories.keys()].sort());
  }
}
