// The durable half of a node, shaped for the server's Ready loop: save() each Ready's entries,
// hard state and snapshot before sending its messages; saveSnapshot() + compact() to bound the
// log; openStorage() gives back what Raft needs to restart. Layout and rules: README.md here.
import { dirname, join } from "node:path";
import type { ConfState, Entry, HardState, LogIndex, NodeId, RestoredState, Snapshot } from "../raft/types.js";
import { ioError } from "./errors.js";
import { nodeFs } from "./fs.js";
import type { StorageFs } from "./fs.js";
import { lockDataDir } from "./lock.js";
import { readMeta, writeMeta } from "./meta.js";
import type { NodeMeta } from "./meta.js";
import type { WalRecord } from "./record.js";
import { recover } from "./recover.js";
import { parseSnapshotName, TEMP_SUFFIX, writeSnapshotFile } from "./snapshot.js";
import { Wal } from "./wal.js";
import type { WalStats } from "./wal.js";

/** Segment size at which the WAL starts a new file. */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Snapshot files kept after a new one is saved (older ones are a fallback while the WAL covers them). */
export const SNAPSHOTS_RETAINED_DEFAULT = 2;

/** How to open a data directory. */
export interface StorageOptions {
  /** File-system layer; tests inject faults through it. Default: the real one. */
  readonly fs?: StorageFs;
  readonly segmentBytesMax?: number;
  /** Initial membership, recorded when the directory is new (`phalanx init`); ignored otherwise. */
  readonly bootstrap?: ConfState | null;
  readonly snapshotsRetained?: number;
}

/** One Ready's worth of durable state. */
export interface SaveRequest {
  readonly hardState?: HardState | null;
  /** Appended in order; the first may overwrite a suffix of the stored log from its index on. */
  readonly entries?: readonly Entry[];
  /** A snapshot from the leader: it replaces the log up to its index. */
  readonly snapshot?: Snapshot | null;
  /**
   * Ready.mustSync: false when only the commit index changed, so the batch may be written without
   * an fdatasync of its own (a later synced batch covers it). Default true.
   */
  readonly mustSync?: boolean;
}

/** What openStorage returns: the storage, the state to restart Raft from, and notes for the log. */
export interface OpenedStorage {
  readonly storage: Storage;
  readonly restored: RestoredState;
  readonly warnings: readonly string[];
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0 as NodeId, commit: 0 };

/** Opens (or creates) a data directory, recovering its WAL and snapshots. */
export async function openStorage(dir: string, options: StorageOptions = {}): Promise<OpenedStorage> {
  const fs = options.fs ?? nodeFs;
  const walDir = join(dir, "wal");
  const snapDir = join(dir, "snap");
  try {
    const isNew = !(await fs.exists(walDir));
    await fs.mkdir(walDir);
    await fs.mkdir(snapDir);
    if (isNew) {
      await fs.syncDir(dir);
      await fs.syncDir(dirname(dir));
    }
  } catch (err) {
    throw ioError("prepare data directory", dir, err);
  }
  const unlock = await lockDataDir(fs, dir);
  try {
    return await openLocked(fs, dir, options, unlock);
  } catch (err) {
    await unlock().catch(() => undefined); // the open failure is the error to report
    throw err;
  }
}

async function openLocked(fs: StorageFs, dir: string, options: StorageOptions, unlock: () => Promise<void>): Promise<OpenedStorage> {
  const walDir = join(dir, "wal");
  const snapDir = join(dir, "snap");
  try {
    // Leftovers of a crash while a file was being written under a temporary name.
    for (const d of [dir, walDir, snapDir]) {
      for (const name of await fs.list(d)) if (name.endsWith(TEMP_SUFFIX)) await fs.unlink(join(d, name));
    }
  } catch (err) {
    throw ioError("remove temporary files in", dir, err);
  }
  const meta = await readMeta(fs, dir);
  const recovered = await recover(fs, { walDir, snapDir });
  const bootstrap = recovered?.bootstrap ?? options.bootstrap ?? null;
  const state = {
    lastIndex: recovered?.lastIndex ?? 0,
    hardState: recovered?.restored.hardState ?? null,
    snapshotMarker: recovered?.snapshotMarker ?? null,
    bootstrap,
  };
  const wal = await Wal.open(fs, walDir, {
    segmentBytesMax: options.segmentBytesMax ?? SEGMENT_BYTES_DEFAULT,
    segments: recovered?.segments ?? [],
    validBytes: recovered?.lastSegmentBytes ?? 0,
    state,
  });
  const restored: RestoredState = recovered?.restored ?? { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [], bootstrap };
  const storage = new Storage({
    fs, dir, snapDir, wal, unlock, lastIndex: state.lastIndex, meta,
    snapshotsRetained: options.snapshotsRetained ?? SNAPSHOTS_RETAINED_DEFAULT,
  });
  return { storage, restored, warnings: recovered?.warnings ?? [] };
}

/** A node's WAL, snapshots and identity file. Create with openStorage(). */
export class Storage {
  /** Last log index including batches queued but not yet durable. */
  private queuedLastIndex: LogIndex;
  /** Set while a save() with a snapshot is writing its file: later saves wait behind it. */
  private tail: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private metaValue: NodeMeta | null;
  private readonly fs: StorageFs;
  private readonly dir: string;
  private readonly snapDir: string;
  private readonly wal: Wal;
  private readonly unlock: () => Promise<void>;
  private readonly snapshotsRetained: number;

  /** @internal use openStorage() */
  constructor(parts: {
    fs: StorageFs; dir: string; snapDir: string; wal: Wal; unlock: () => Promise<void>;
    lastIndex: LogIndex; meta: NodeMeta | null; snapshotsRetained: number;
  }) {
    this.fs = parts.fs;
    this.dir = parts.dir;
    this.snapDir = parts.snapDir;
    this.wal = parts.wal;
    this.unlock = parts.unlock;
    this.queuedLastIndex = parts.lastIndex;
    this.metaValue = parts.meta;
    this.snapshotsRetained = parts.snapshotsRetained;
  }

  /** The cluster identity stored in the directory, or null before saveMeta(). */
  get meta(): NodeMeta | null {
    return this.metaValue;
  }

  /**
   * Makes one Ready's snapshot, entries and hard state durable; resolves after the fdatasync that
   * covers them. Calls made while an earlier one is in flight share the next fdatasync.
   */
  save(request: SaveRequest): Promise<void> {
    if (request.snapshot == null && this.tail === null) {
      try {
        return this.enqueue(request);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const run = (this.tail ?? Promise.resolve()).then(async () => {
      if (request.snapshot != null) await writeSnapshotFile(this.fs, this.snapDir, request.snapshot);
      return { durable: this.enqueue(request) };
    });
    const settled = run.then(() => undefined, () => undefined);
    this.tail = settled;
    void settled.then(() => {
      if (this.tail === settled) this.tail = null;
    });
    return run.then((box) => box.durable);
  }

  /**
   * Saves a snapshot the node took of its own state (log compaction): the file, then a marker in
   * the WAL. After it resolves, compact(snapshot.meta.index) may delete older segments.
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const { index, term } = snapshot.meta;
    if (index > this.queuedLastIndex) {
      throw new Error(`Cannot save snapshot at ${index}: the log ends at ${this.queuedLastIndex}`);
    }
    await writeSnapshotFile(this.fs, this.snapDir, snapshot);
    await this.wal.append([{ kind: "snapshot", marker: { index, term, resetsLog: false } }],
      { lastIndex: this.queuedLastIndex, hardState: null, snapshotMarker: { index, term } });
    await this.pruneSnapshots(index);
  }

  /** Deletes WAL segments whose entries all lie at or below `index`, which a durable snapshot must cover. */
  async compact(index: LogIndex): Promise<number> {
    const marker = this.wal.stateSnapshotMarker();
    if (marker === null || index > marker.index) {
      throw new Error(`Cannot compact the WAL through ${index}: the newest durable snapshot is at ${marker?.index ?? 0}`);
    }
    return this.wal.removeSegmentsThrough(index);
  }

  /** Replaces the cluster identity file atomically. */
  async saveMeta(meta: NodeMeta): Promise<void> {
    await writeMeta(this.fs, this.dir, meta);
    this.metaValue = meta;
  }

  /** Calls `observer` with the duration in seconds of every WAL fdatasync (metrics). */
  observeFsync(observer: (seconds: number) => void): void {
    this.wal.onFsync = observer;
  }

  /** Counters: fsyncs, writes, batches, bytes, segments. */
  stats(): Readonly<WalStats> & { segments: number } {
    return { ...this.wal.stats, segments: this.wal.segmentList().length };
  }

  /** Waits for queued saves to finish, then closes the files. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    while (this.tail !== null) await this.tail;
    try {
      await this.wal.close();
    } finally {
      await this.unlock();
    }
  }

  private enqueue(request: SaveRequest): Promise<void> {
    const entries = request.entries ?? [];
    const records: WalRecord[] = [];
    let lastIndex = this.queuedLastIndex;
    let snapshotMarker: { index: LogIndex; term: number } | null = null;
    if (request.snapshot != null) {
      const { index, term } = request.snapshot.meta;
      records.push({ kind: "snapshot", marker: { index, term, resetsLog: true } });
      snapshotMarker = { index, term };
      lastIndex = index;
    }
    const first = entries[0];
    if (first !== undefined) {
      const lowest = request.snapshot != null ? lastIndex + 1 : 1; // after a snapshot, the log restarts past it
      if (first.index < lowest || first.index > lastIndex + 1) {
        throw new Error(`Cannot append entry ${first.index}: the log ends at ${lastIndex}`);
      }
      for (let k = 0; k < entries.length; k++) {
        const e = entries[k] as Entry;
        if (e.index !== first.index + k) throw new Error(`Cannot append entries: index ${e.index} follows ${first.index + k - 1}`);
        records.push({ kind: "entry", entry: e });
      }
      lastIndex = first.index + entries.length - 1;
    }
    if (request.hardState != null) records.push({ kind: "hardState", hardState: request.hardState });
    const mustSync = request.mustSync !== false || entries.length > 0 || request.snapshot != null;
    const durable = this.wal.append(records, { lastIndex, hardState: request.hardState ?? null, snapshotMarker }, mustSync);
    this.queuedLastIndex = lastIndex;
    return durable;
  }

  private async pruneSnapshots(keepIndex: LogIndex): Promise<void> {
    // Only files older than the snapshot just recorded are candidates: a newer file may belong to
    // a leader's snapshot whose WAL marker is not durable yet.
    const older = (await this.fs.list(this.snapDir))
      .map((name) => ({ name, parsed: parseSnapshotName(name) }))
      .filter((f): f is { name: string; parsed: { term: number; index: number } } => f.parsed !== null && f.parsed.index < keepIndex)
      .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
    const doomed = older.slice(Math.max(0, this.snapshotsRetained - 1));
    if (doomed.length === 0) return;
    try {
      for (const f of doomed) await this.fs.unlink(join(this.snapDir, f.name));
      await this.fs.syncDir(this.snapDir);
    } catch (err) {
      throw ioError("remove old snapshot in", this.snapDir, err);
    }
  }
}
