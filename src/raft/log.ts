// The replicated log of one node (etcd-io/raft log.go, log_unstable.go). Entries from the
// compaction point on are kept in memory; those before `unstableOffset` are durable, the rest are
// waiting in a Ready to be persisted. Entries are delivered for applying only once they are both
// committed and durable locally.
import type { Entry, LogIndex, Snapshot, Term } from "./types.js";
import { assert } from "./assert.js";

/** Bytes counted per entry on top of its data when batching (headers on the wire). */
export const ENTRY_OVERHEAD_BYTES = 16;

/** Size of `entry` for batching bounds. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.length + ENTRY_OVERHEAD_BYTES;
}

/** The log: compaction point, entries after it, commit and apply cursors, persistence boundary. */
export class RaftLog {
  /** Index and term of the last compacted entry (the snapshot's). */
  private snapIndex: LogIndex;
  private snapTerm: Term;
  /** Entries snapIndex+1 .. lastIndex. */
  private ents: Entry[];
  /** First index not yet durable; entries before it are persisted. */
  private unstableOffset: LogIndex;
  /** A snapshot received from the leader and not yet persisted by the shell. */
  unstableSnapshot: Snapshot | null = null;
  /** The latest snapshot this node holds, sent to followers that need compacted entries. */
  snapshot: Snapshot | null;
  committed: LogIndex;
  applied: LogIndex;

  /** A log restored from durable state: everything given is persisted. */
  constructor(snapshot: Snapshot | null, entries: readonly Entry[]) {
    this.snapshot = snapshot;
    this.snapIndex = snapshot?.meta.index ?? 0;
    this.snapTerm = snapshot?.meta.term ?? 0;
    this.ents = entries.filter((e) => e.index > this.snapIndex);
    this.ents.forEach((e, i) => {
      assert(e.index === this.snapIndex + 1 + i, `Cannot restore log: entry ${e.index} is not contiguous (expected ${this.snapIndex + 1 + i})`);
      assert(e.term >= (i === 0 ? this.snapTerm : (this.ents[i - 1] as Entry).term), `Cannot restore log: entry ${e.index} has a term lower than its predecessor`);
    });
    this.unstableOffset = this.lastIndex() + 1;
    this.committed = this.snapIndex;
    this.applied = this.snapIndex;
  }

  /** Index of the first entry held (after the compaction point). */
  firstIndex(): LogIndex {
    return this.snapIndex + 1;
  }

  /** Index of the last entry (the compaction point when empty). */
  lastIndex(): LogIndex {
    return this.snapIndex + this.ents.length;
  }

  /** Term of the last entry. */
  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }

  /** Term of the entry at `index`; undefined when compacted or beyond the end. */
  term(index: LogIndex): Term | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    return (this.ents[index - this.snapIndex - 1] as Entry).term;
  }

  /** The entry at `index` (must be held). */
  entry(index: LogIndex): Entry {
    const e = this.ents[index - this.snapIndex - 1];
    assert(e !== undefined && e.index === index, `Cannot read entry ${index}: log holds ${this.firstIndex()}..${this.lastIndex()}`);
    return e;
  }

  /** True when the entry at `index` exists with `term`. */
  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Election restriction (§5.4.1): a log ending at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry of `entries` that is missing or has another term here; 0 when all match. */
  findConflict(entries: readonly Entry[]): LogIndex {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term`, with that term (etcd-io/raft
   * findConflictByTerm). Lets a leader skip a whole divergent term per round trip. A compacted
   * position answers with term 0 (unknown).
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    let i = Math.min(index, this.lastIndex());
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
      i--;
    }
  }

  /** Appends `entries`, overwriting any suffix from entries[0].index on. Returns the first overwritten index or 0. */
  append(entries: readonly Entry[]): LogIndex {
    const first = entries[0];
    if (first === undefined) return 0;
    assert(first.index > this.committed, `Cannot append entry ${first.index}: entries up to ${this.committed} are committed`);
    assert(first.index <= this.lastIndex() + 1, `Cannot append entry ${first.index}: log ends at ${this.lastIndex()}`);
    assert(first.index > this.snapIndex, `Cannot append entry ${first.index}: log is compacted up to ${this.snapIndex}`);
    entries.forEach((e, i) => {
      assert(e.index === first.index + i, `Cannot append entry ${e.index}: not contiguous`);
    });
    let truncatedFrom = 0;
    if (first.index <= this.lastIndex()) {
      truncatedFrom = first.index;
      this.ents.length = first.index - this.snapIndex - 1;
      this.unstableOffset = Math.min(this.unstableOffset, first.index);
    }
    const prevTerm = this.term(first.index - 1) ?? 0;
    assert(first.term >= prevTerm, `Cannot append entry ${first.index}: term ${first.term} is below the previous term ${prevTerm}`);
    for (const e of entries) this.ents.push(e);
    return truncatedFrom;
  }

  /**
   * Entries lo.. up to `maxCount` entries and `maxBytes` (at least one entry when any exists).
   * Undefined when lo is compacted.
   */
  slice(lo: LogIndex, maxCount: number, maxBytes: number): Entry[] | undefined {
    if (lo <= this.snapIndex) return undefined;
    assert(lo <= this.lastIndex() + 1, `Cannot read entries from ${lo}: log ends at ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.lastIndex() && out.length < maxCount; i++) {
      const e = this.entry(i);
      bytes += entrySizeBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Advances the commit index (never backwards). */
  commitTo(index: LogIndex): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `Cannot commit ${index}: log ends at ${this.lastIndex()} (was the log lost or truncated?)`);
    this.committed = index;
  }

  /** Records that the app applied up to `index`. */
  appliedTo(index: LogIndex): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied, `Cannot apply ${index}: applied ${this.applied}, committed ${this.committed}`);
    this.applied = index;
  }

  /** Last index that is durable locally. */
  persistedIndex(): LogIndex {
    return this.unstableOffset - 1;
  }

  /** Entries waiting to be persisted. */
  unstableEntries(): Entry[] {
    return this.ents.slice(this.unstableOffset - this.snapIndex - 1);
  }

  /** Marks entries up to `index` durable, unless they were overwritten since (term differs). */
  stableTo(index: LogIndex, term: Term): void {
    if (index < this.unstableOffset || this.term(index) !== term) return;
    this.unstableOffset = index + 1;
  }

  /** Marks the unstable snapshot at `index` durable. */
  stableSnapTo(index: LogIndex): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.meta.index === index) this.unstableSnapshot = null;
  }

  /** True when committed, durable, unapplied entries exist. */
  hasNextCommittedEntries(): boolean {
    return this.unstableSnapshot === null && Math.min(this.committed, this.persistedIndex()) > this.applied;
  }

  /** Committed, durable, unapplied entries, at most `maxCount`. */
  nextCommittedEntries(maxCount: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    const hi = Math.min(this.committed, this.persistedIndex(), this.applied + maxCount);
    assert(this.applied + 1 > this.snapIndex, `Cannot deliver entries from ${this.applied + 1}: log is compacted up to ${this.snapIndex}`);
    return this.ents.slice(this.applied + 1 - this.snapIndex - 1, hi - this.snapIndex);
  }

  /** Drops entries up to the snapshot's index, which the app has applied; keeps the snapshot to send. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    assert(index <= this.applied, `Cannot compact up to ${index}: only ${this.applied} is applied`);
    assert(this.term(index) === snapshot.meta.term, `Cannot compact up to ${index}: snapshot term ${snapshot.meta.term} differs from the log's ${String(this.term(index))}`);
    this.ents = this.ents.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = snapshot.meta.term;
    this.snapshot = snapshot;
    this.unstableOffset = Math.max(this.unstableOffset, index + 1);
  }

  /** Replaces the whole log with a snapshot from the leader; it is durable once the shell persists it. */
  restore(snapshot: Snapshot): void {
    assert(snapshot.meta.index > this.committed, `Cannot restore snapshot ${snapshot.meta.index}: entries up to ${this.committed} are committed`);
    this.snapIndex = snapshot.meta.index;
    this.snapTerm = snapshot.meta.term;
    this.ents = [];
    this.unstableOffset = snapshot.meta.index + 1;
    this.unstableSnapshot = snapshot;
    this.snapshot = snapshot;
    this.committed = snapshot.meta.index;
  }
}
