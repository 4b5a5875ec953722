// The WAL writer: group commit, segment roll-over and compaction. One flush loop at a time
// takes every batch queued so far, writes them with ONE write and makes them durable with ONE
// fdatasync; batches queued meanwhile wait for the next round. save() resolves only after the
// fdatasync covering its batch returned.
//
// After a failed write or fsync the WAL fails for good and refuses every later write until it is
// reopened. The reason is "fsyncgate": when fsync reports an error, Linux may already have marked
// the dirty pages clean and dropped them, so a retried fsync can succeed while the data never
// reached the disk. Only re-reading the files (recovery) tells what is really durable.
import { performance } from "node:perf_hooks";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { createFileAtomic } from "../fsutil/atomic-file.js";
import type { ConfState, HardState, LogIndex, Term } from "../raft/types.js";
import { ioError, StorageError, StorageIoError } from "./errors.js";
import type { StorageFile, StorageFs } from "./fs.js";
import { encodeBatch, encodeWriteStart, WAL_FORMAT_VERSION, WRITE_RECORD_BYTES } from "./record.js";
import type { WalRecord } from "./record.js";
import type { SegmentInfo } from "./recover.js";
import { segmentName } from "./segment.js";
import { TEMP_SUFFIX } from "./snapshot.js";

/** Bytes written with one write at most; a larger backlog is flushed in several rounds. */
export const GROUP_BYTES_MAX = 16 * 1024 * 1024;
/** Batches waiting for a flush at most; more means the disk cannot keep up. */
export const QUEUED_BATCHES_MAX = 65_536;

/** The state a new segment's header records, as of the last durable batch. */
export interface WalState {
  lastIndex: LogIndex;
  hardState: HardState | null;
  snapshotMarker: { index: LogIndex; term: Term } | null;
  readonly bootstrap: ConfState | null;
}

/** What a batch changes in WalState once it is durable. */
export interface BatchEffect {
  readonly lastIndex: LogIndex;
  readonly hardState: HardState | null;
  readonly snapshotMarker: { index: LogIndex; term: Term } | null;
}

interface Pending {
  readonly bytes: Buffer;
  readonly mustSync: boolean;
  readonly effect: BatchEffect;
  readonly resolve: () => void;
  readonly reject: (err: StorageError) => void;
}

/** Counters for metrics and tests. */
export interface WalStats {
  fsyncs: number;
  writes: number;
  batches: number;
  bytes: number;
  segmentsCreated: number;
  segmentsRemoved: number;
}

/** Appends batches of records to segment files in `dir`. */
export class Wal {
  readonly stats: WalStats = { fsyncs: 0, writes: 0, batches: 0, bytes: 0, segmentsCreated: 0, segmentsRemoved: 0 };
  /** Told the duration of every batch fdatasync, in seconds (the node's fsync latency histogram). */
  onFsync: ((seconds: number) => void) | null = null;
  private readonly queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private failure: StorageError | null = null;
  private closed = false;

  private constructor(
    private readonly fs: StorageFs,
    private readonly dir: string,
    private readonly segmentBytesMax: number,
    private readonly segments: SegmentInfo[],
    private file: StorageFile,
    private size: number,
    private headerBytes: number,
    private readonly state: WalState,
  ) {}

  /** Opens the last segment (cut back to `validBytes`), or creates segment 1 in an empty directory. */
  static async open(fs: StorageFs, dir: string, opts: {
    readonly segmentBytesMax: number;
    readonly segments: readonly SegmentInfo[];
    readonly validBytes: number;
    readonly state: WalState;
  }): Promise<Wal> {
    const { segmentBytesMax, segments, validBytes, state } = opts;
    const last = segments[segments.length - 1];
    if (last === undefined) {
      const created = await createSegment(fs, dir, 1, state);
      return new Wal(fs, dir, segmentBytesMax, [created.info], created.file, created.size, created.size, state);
    }
    const path = join(dir, last.name);
    let file: StorageFile;
    try {
      file = await fs.openFile(path);
      if ((await file.size()) !== validBytes) {
        // Cut off the torn tail and make the cut durable before appending after it.
        await file.truncate(validBytes);
        await file.datasync();
      }
    } catch (err) {
      throw ioError("open WAL segment", path, err);
    }
    return new Wal(fs, dir, segmentBytesMax, [...segments], file, validBytes, 0, state);
  }

  /**
   * Queues one batch; resolves when it is durable, or only written when `mustSync` is false (a
   * hard state whose commit index alone changed: Raft can recompute it, etcd skips its fsync too).
   * `records` may be empty (a barrier).
   */
  append(records: readonly WalRecord[], effect: BatchEffect, mustSync = true): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failedError());
    if (this.closed) return Promise.reject(new StorageIoError("storage_closed", `Cannot save to ${this.dir}: the storage is closed`));
    if (this.queue.length >= QUEUED_BATCHES_MAX) {
      return Promise.reject(new Error(`Cannot queue a WAL batch: ${QUEUED_BATCHES_MAX} batches already wait for the disk`));
    }
    const bytes = records.length === 0 ? Buffer.alloc(0) : encodeBatch(records);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, mustSync, effect, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** The newest snapshot whose marker is durable in the WAL. */
  stateSnapshotMarker(): { index: LogIndex; term: Term } | null {
    return this.state.snapshotMarker;
  }

  /** The segments on disk, oldest first. */
  segmentList(): readonly SegmentInfo[] {
    return this.segments;
  }

  /** Deletes whole segments whose entries are all at or below `index` (never the active one). */
  async removeSegmentsThrough(index: LogIndex): Promise<number> {
    let n = 0;
    while (n + 1 < this.segments.length && (this.segments[n + 1] as SegmentInfo).firstIndex - 1 <= index) n++;
    if (n === 0) return 0;
    const doomed = this.segments.splice(0, n);
    try {
      // Oldest first: a crash part-way leaves a shorter but still contiguous sequence.
      for (const seg of doomed) await this.fs.unlink(join(this.dir, seg.name));
      await this.fs.syncDir(this.dir);
    } catch (err) {
      throw ioError("remove WAL segment in", this.dir, err);
    }
    this.stats.segmentsRemoved += n;
    return n;
  }

  /** Waits for queued batches, then closes the active segment. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing !== null) await this.flushing;
    await this.file.close();
  }

  private failedError(): StorageIoError {
    const cause = this.failure as StorageError;
    return new StorageIoError("storage_failed",
      `Cannot save to ${this.dir}: an earlier write failed (${cause.message}); reopen the storage to recover what is durable`, { cause });
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0 && this.failure === null) {
      let count = 0;
      let total = 0;
      while (count < this.queue.length && (count === 0 || total + (this.queue[count] as Pending).bytes.length <= GROUP_BYTES_MAX)) {
        total += (this.queue[count] as Pending).bytes.length;
        count++;
      }
      const group = this.queue.splice(0, count);
      try {
        if (total > 0) await this.writeGroup(group, total);
      } catch (err) {
        this.failure = err instanceof StorageError ? err : ioError("append to WAL in", this.dir, err);
        for (const p of group) p.reject(this.failure);
        for (const p of this.queue.splice(0)) p.reject(this.failedError());
        break;
      }
      for (const p of group) {
        applyEffect(this.state, p.effect);
        p.resolve();
      }
    }
    this.flushing = null;
  }

  private async writeGroup(group: readonly Pending[], total: number): Promise<void> {
    const size = WRITE_RECORD_BYTES + total;
    if (this.size > this.headerBytes && this.size + size > this.segmentBytesMax) await this.roll();
    const bytes = Buffer.concat([encodeWriteStart(size), ...group.map((p) => p.bytes)], size);
    const path = join(this.dir, (this.segments[this.segments.length - 1] as SegmentInfo).name);
    try {
      await this.file.write(bytes, this.size);
      this.stats.writes++;
      this.size += size;
      if (group.some((p) => p.mustSync)) {
        const started = performance.now();
        await this.file.datasync();
        this.stats.fsyncs++;
        this.onFsync?.((performance.now() - started) / 1000);
      }
    } catch (err) {
      throw ioError("append to WAL segment", path, err);
    }
    this.stats.batches += group.length;
    this.stats.bytes += size;
  }

  private async roll(): Promise<void> {
    const prev = this.segments[this.segments.length - 1] as SegmentInfo;
    const created = await createSegment(this.fs, this.dir, prev.seq + 1, this.state);
    // Seal the previous segment only once its successor is durable: a sealed segment with no
    // successor then always means that files were lost, never a crash during a roll. The
    // previous segment's data is already synced (every group is synced before the next write).
    const old = this.file;
    const oldPath = join(this.dir, prev.name);
    this.file = created.file;
    this.segments.push(created.info);
    this.stats.segmentsCreated++;
    try {
      await old.write(encodeBatch([{ kind: "seal", nextSeq: created.info.seq }]), this.size);
      await old.datasync();
      await old.close();
    } catch (err) {
      await old.close().catch(() => undefined); // the seal failure is the error to report
      throw ioError("seal WAL segment", oldPath, err);
    } finally {
      this.size = created.size;
      this.headerBytes = created.size;
    }
  }
}

function applyEffect(state: WalState, effect: BatchEffect): void {
  state.lastIndex = effect.lastIndex;
  if (effect.hardState !== null) state.hardState = effect.hardState;
  if (effect.snapshotMarker !== null && (state.snapshotMarker === null || effect.snapshotMarker.index >= state.snapshotMarker.index)) {
    state.snapshotMarker = effect.snapshotMarker;
  }
}

/**
 * Creates segment `seq` whose header carries the current state, so that older segments can be
 * deleted. Written atomically (fsutil/atomic-file.ts) and kept open for appending: a segment
 * file that exists always has a durable header.
 */
async function createSegment(fs: StorageFs, dir: string, seq: number, state: WalState):
  Promise<{ info: SegmentInfo; file: StorageFile; size: number }> {
  const firstIndex = state.lastIndex + 1;
  const name = segmentName(seq, firstIndex);
  const path = join(dir, name);
  const header = encodeBatch([{
    kind: "header",
    header: {
      version: WAL_FORMAT_VERSION, seq, firstIndex, hardState: state.hardState,
      snapshot: state.snapshotMarker, bootstrap: state.bootstrap,
    },
  }]);
  let file: StorageFile;
  try {
    file = await createFileAtomic(path, header, { fs, tempSuffix: TEMP_SUFFIX });
  } catch (err) {
    throw ioError("create WAL segment", path, err);
  }
  return { info: { name, seq, firstIndex }, file, size: header.length };
}
