// When a node snapshots its own state, and how the snapshot reaches the disk: every
// `everyEntries` applied entries, one at a time; the snapshot file is saved asynchronously and only
// once it is durable is the log compacted behind it (compacting first would let a crash lose
// entries no durable snapshot covers — the snapshot-compacts-before-save mutant).
import type { LogIndex, Snapshot } from "../raft/types.js";
import type { NodeStorage } from "./effects.js";

/** The snapshot policy of one node core. */
export class SnapshotPolicy {
  private saving = false;

  constructor(
    private readonly everyEntries: number,
    /** Index of the newest snapshot (taken here or installed from the leader). */
    private lastIndex: LogIndex,
    private readonly storage: NodeStorage,
    /** Mutant: cut the log before the snapshot is durable. */
    private readonly compactsBeforeSave: boolean,
  ) {}

  /** True when enough entries applied since the last snapshot and none is being saved. */
  due(appliedIndex: LogIndex): boolean {
    return !this.saving && appliedIndex - this.lastIndex >= this.everyEntries;
  }

  /** A snapshot from the leader replaced the state. */
  installed(index: LogIndex): void {
    this.lastIndex = index;
  }

  /** Saves a snapshot the core just took (and compacted Raft's log to), then compacts storage; `onFailure` on an I/O error. */
  save(snapshot: Snapshot, onFailure: (err: unknown) => void): void {
    const index = snapshot.meta.index;
    this.lastIndex = index;
    this.saving = true;
    const finished = (err: unknown): void => {
      this.saving = false;
      if (failed(err)) onFailure(err);
    };
    const storage = this.storage;
    if (this.compactsBeforeSave) {
      storage.compact(index, (err) => (failed(err) ? finished(err) : storage.saveSnapshot(snapshot, finished)));
      return;
    }
    storage.saveSnapshot(snapshot, (err) => (failed(err) ? finished(err) : storage.compact(index, finished)));
  }
}

function failed(err: unknown): boolean {
  return err !== null && err !== undefined;
}
