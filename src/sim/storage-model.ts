// The simulated disk of one node. Writes go to a write-ahead log as records (a batch of entries,
// a hard state, an incoming snapshot); they become durable only when synced. A crash keeps what
// was synced plus a random prefix of the unsynced records, and may tear the first lost batch of
// entries (keeping a prefix of it): a WAL with a checksum per record recovers exactly such a
// prefix, because recovery stops at the first torn record. A hard state record is small and
// checksummed, so it is either wholly there or not (never half-written). Snapshots taken by the
// node itself are written to their own file, synced and renamed, so they are durable at once.
import type { ConfState, Entry, HardState, LogIndex, RestoredState, Snapshot, Term } from "../raft/types.js";
import { NO_NODE } from "../raft/types.js";
import type { Rng } from "./rng.js";

/** One record of the simulated write-ahead log. */
export type WalRecord =
  | { readonly kind: "entries"; readonly entries: readonly Entry[] }
  | { readonly kind: "hardState"; readonly hardState: HardState }
  | { readonly kind: "snapshot"; readonly snapshot: Snapshot };

/** The empty hard state of a node that never ran. */
export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE, commit: 0 };

/** A log as stored: a snapshot, then contiguous entries after it, and the last hard state. */
export class LogImage {
  hardState: HardState = EMPTY_HARD_STATE;
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];

  /** Index covered by the snapshot (0 without one). */
  get offset(): LogIndex {
    return this.snapshot?.meta.index ?? 0;
  }

  /** Index of the last entry (or of the snapshot when the log after it is empty). */
  get lastIndex(): LogIndex {
    return this.offset + this.entries.length;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away (below the snapshot) or absent. */
  term(index: LogIndex): Term | undefined {
    const offset = this.offset;
    if (index === offset) return this.snapshot?.meta.term ?? 0;
    if (index < offset || index > offset + this.entries.length) return undefined;
    return (this.entries[index - offset - 1] as Entry).term;
  }

  /** The entry at `index`, or undefined when compacted away or absent. */
  entry(index: LogIndex): Entry | undefined {
    const offset = this.offset;
    return index > offset ? this.entries[index - offset - 1] : undefined;
  }

  /** Applies one record, as recovery would replay it. */
  apply(record: WalRecord): void {
    switch (record.kind) {
      case "hardState":
        this.hardState = record.hardState;
        return;
      case "snapshot":
        if (record.snapshot.meta.index < this.offset) {
          throw new Error(`Cannot store snapshot at ${record.snapshot.meta.index}: the log is compacted up to ${this.offset}`);
        }
        this.snapshot = record.snapshot;
        this.entries = [];
        return;
      case "entries": {
        const offset = this.offset;
        for (const e of record.entries) {
          if (e.index <= offset) continue;
          const pos = e.index - offset - 1;
          if (pos > this.entries.length) {
            throw new Error(`Cannot store entry ${e.index}: the log ends at ${this.lastIndex}`);
          }
          if (pos < this.entries.length) this.entries.length = pos;
          this.entries.push(e);
        }
        return;
      }
    }
  }

  /** Drops entries up to `snapshot.meta.index` and keeps the snapshot, if it is newer. */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    if (index <= this.offset) return;
    const drop = Math.min(index - this.offset, this.entries.length);
    this.entries = this.entries.slice(drop);
    if (index > this.offset + drop) this.entries = []; // the log did not reach the snapshot
    this.snapshot = snapshot;
  }

  /** A deep enough copy (entries are immutable). */
  clone(): LogImage {
    const copy = new LogImage();
    copy.hardState = this.hardState;
    copy.snapshot = this.snapshot;
    copy.entries = this.entries.slice();
    return copy;
  }
}

/** What a crash did to the unsynced tail, for the trace. */
export interface CrashLoss {
  readonly unsyncedRecords: number;
  readonly keptRecords: number;
  readonly tornEntriesKept: number | null;
}

/** The simulated disk: a written image (what reads see) and a durable image (what survives a crash). */
export class StorageModel {
  /** Everything written so far, synced or not. */
  written = new LogImage();
  /** What a crash cannot lose. */
  durable = new LogImage();
  private unsynced: WalRecord[] = [];

  /** True when some written records are not yet durable. */
  get dirty(): boolean {
    return this.unsynced.length > 0;
  }

  /** Appends records to the log without syncing them. */
  write(records: readonly WalRecord[]): void {
    for (const r of records) {
      this.written.apply(r);
      this.unsynced.push(r);
    }
  }

  /** Makes everything written so far durable (fsync). */
  sync(): void {
    for (const r of this.unsynced) this.durable.apply(r);
    this.unsynced = [];
  }

  /**
   * Highest index the log was cut through without a durable snapshot covering it (0: none). Real
   * storage refuses that order; the model lets the snapshot-compacts-before-save mutant do it, so
   * that a crash in between shows the loss.
   */
  private cutWithoutSnapshotTo = 0;

  /** Stores a snapshot taken by the node itself (durable at once) and compacts the log behind it. */
  compact(snapshot: Snapshot): void {
    this.durable.compact(snapshot);
    this.written.compact(snapshot);
    if (this.cutWithoutSnapshotTo <= snapshot.meta.index) this.cutWithoutSnapshotTo = 0;
  }

  /** Drops log entries through `index`: a no-op when a durable snapshot covers it, else a cut that loses them. */
  compactLog(index: LogIndex): void {
    if (this.durable.offset >= index) return;
    this.cutWithoutSnapshotTo = Math.max(this.cutWithoutSnapshotTo, index);
  }

  /** Why the durable image cannot be restored (entries cut that no durable snapshot covers), or null. */
  lostEntries(): string | null {
    if (this.cutWithoutSnapshotTo <= this.durable.offset) return null;
    return `the log was compacted through ${this.cutWithoutSnapshotTo} but the newest durable snapshot is at ${this.durable.offset}: entries ${this.durable.offset + 1}..${this.cutWithoutSnapshotTo} are lost`;
  }

  /** Loses power: keeps the durable image plus a random prefix of the unsynced records, maybe torn. */
  crash(rng: Rng): CrashLoss {
    const total = this.unsynced.length;
    const kept = total === 0 ? 0 : rng.int(total + 1);
    for (let i = 0; i < kept; i++) this.durable.apply(this.unsynced[i] as WalRecord);
    let tornEntriesKept: number | null = null;
    const next = this.unsynced[kept];
    if (next !== undefined && next.kind === "entries" && next.entries.length > 1 && rng.chance(0.5)) {
      tornEntriesKept = rng.int(next.entries.length);
      this.durable.apply({ kind: "entries", entries: next.entries.slice(0, tornEntriesKept) });
    }
    this.unsynced = [];
    this.written = this.durable.clone();
    return { unsyncedRecords: total, keptRecords: kept, tornEntriesKept };
  }

  /** What the node reads back at start. */
  restore(bootstrap: ConfState | null): RestoredState {
    const d = this.durable;
    return { hardState: d.hardState, snapshot: d.snapshot, entries: d.entries.slice(), bootstrap };
  }
}
