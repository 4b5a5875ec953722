// Recovery: replay the WAL segments in order, pick the newest usable snapshot, and check that
// together they describe one contiguous log. Anything that could mean "less data than was
// acknowledged" refuses to start with a StorageCorruptError naming the file and what to do.
import { dirname, join } from "node:path";
import type { ConfState, Entry, HardState, LogIndex, NodeId, RestoredState, Snapshot, Term } from "../raft/types.js";
import { ioError, RESTORE_ADVICE, StorageCorruptError, StorageError } from "./errors.js";
import type { StorageFs } from "./fs.js";
import type { SegmentHeader } from "./record.js";
import { parseSegmentName, scanSegment } from "./segment.js";
import type { ScannedRecord } from "./segment.js";
import { decodeSnapshotFile, parseSnapshotName, snapshotName } from "./snapshot.js";

/** A segment file as the writer tracks it. */
export interface SegmentInfo {
  readonly name: string;
  readonly seq: number;
  readonly firstIndex: LogIndex;
}

/** Everything recovery learned: the state for Raft and what the writer needs to continue. */
export interface Recovered {
  readonly restored: RestoredState;
  readonly segments: readonly SegmentInfo[];
  /** Length of the valid part of the last segment; the writer truncates the file to it. */
  readonly lastSegmentBytes: number;
  readonly lastIndex: LogIndex;
  /** The newest snapshot recorded durably in the WAL (used in new segment headers). */
  readonly snapshotMarker: { readonly index: LogIndex; readonly term: Term } | null;
  readonly bootstrap: ConfState | null;
  /** Things an operator may want to know (a dropped torn tail, a skipped corrupt snapshot). */
  readonly warnings: readonly string[];
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0 as NodeId, commit: 0 };

/** Reads the WAL and snapshots of a data directory; null when the directory holds no WAL yet. */
export async function recover(fs: StorageFs, dirs: { readonly walDir: string; readonly snapDir: string }): Promise<Recovered | null> {
  try {
    return await recoverDirs(fs, dirs.walDir, dirs.snapDir);
  } catch (err) {
    if (err instanceof StorageError) throw err;
    throw ioError("read WAL or snapshots in", dirname(dirs.walDir), err);
  }
}

async function recoverDirs(fs: StorageFs, walDir: string, snapDir: string): Promise<Recovered | null> {
  const segments = (await fs.list(walDir))
    .map((name) => ({ name, parsed: parseSegmentName(name) }))
    .filter((s): s is { name: string; parsed: { seq: number; firstIndex: number } } => s.parsed !== null)
    .map((s) => ({ name: s.name, seq: s.parsed.seq, firstIndex: s.parsed.firstIndex }))
    .sort((a, b) => a.seq - b.seq);
  const snapFiles = (await fs.list(snapDir))
    .map((name) => ({ name, parsed: parseSnapshotName(name) }))
    .filter((s): s is { name: string; parsed: { term: number; index: number } } => s.parsed !== null)
    .map((s) => ({ name: s.name, ...s.parsed }))
    .sort((a, b) => b.index - a.index || b.term - a.term);
  if (segments.length === 0) {
    if (snapFiles.length > 0) {
      throw new StorageCorruptError("wal_missing_segment",
        `Cannot start from ${walDir}: it holds no WAL segment but ${snapDir} holds snapshots; ${RESTORE_ADVICE}`, { file: walDir });
    }
    return null;
  }
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1] as SegmentInfo;
    const cur = segments[i] as SegmentInfo;
    if (cur.seq !== prev.seq + 1) {
      throw new StorageCorruptError("wal_missing_segment",
        `Cannot start from ${join(walDir, cur.name)}: segments ${prev.seq + 1} to ${cur.seq - 1} are missing after ${prev.name}; ${RESTORE_ADVICE}`,
        { file: join(walDir, cur.name), offset: 0 });
    }
  }

  const replay = new Replay();
  const warnings: string[] = [];
  let lastSegmentBytes = 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as SegmentInfo;
    const file = join(walDir, seg.name);
    const isLast = i === segments.length - 1;
    const scan = scanSegment(await fs.readFile(file), { file, seq: seg.seq, isLast });
    if (scan.tornBytes > 0) {
      warnings.push(`Dropped ${scan.tornBytes} bytes at offset ${scan.validBytes} of ${file}: ${scan.tornReason} (a write that was never acknowledged)`);
    }
    if (isLast) lastSegmentBytes = scan.validBytes;
    const sealed = replay.segment(file, seg, scan.records, i === 0);
    if (sealed && isLast) {
      throw new StorageCorruptError("wal_missing_segment",
        `Cannot start from ${file}: it is sealed, so segment ${seg.seq + 1} was written after it, but that file is missing; ${RESTORE_ADVICE}`,
        { file });
    }
  }

  const chosen = await chooseSnapshot(fs, snapDir, snapFiles, replay, warnings);
  const lastIndex = replay.lastIndex();
  const hardState = replay.hardState ?? EMPTY_HARD_STATE;
  const durableLast = Math.max(lastIndex, chosen?.meta.index ?? 0);
  if (hardState.commit > durableLast) {
    throw new StorageCorruptError("wal_missing_segment",
      `Cannot start from ${walDir}: the hard state says entry ${hardState.commit} is committed but the log ends at ${durableLast}, ` +
      `so acknowledged entries are missing (a lost or truncated segment); ${RESTORE_ADVICE}`, { file: walDir });
  }
  const from = chosen?.meta.index ?? replay.base;
  return {
    restored: {
      hardState,
      snapshot: chosen,
      entries: replay.log.slice(Math.max(0, from - replay.base)),
      bootstrap: replay.bootstrap,
    },
    segments,
    lastSegmentBytes,
    lastIndex,
    snapshotMarker: replay.latestMarker(),
    bootstrap: replay.bootstrap,
    warnings,
  };
}

/** The log as the records rebuild it. Entries are contiguous after `base`. */
class Replay {
  base: LogIndex = 0;
  log: Entry[] = [];
  hardState: HardState | null = null;
  bootstrap: ConfState | null = null;
  readonly markers: { index: LogIndex; term: Term }[] = [];

  lastIndex(): LogIndex {
    return this.base + this.log.length;
  }

  latestMarker(): { index: LogIndex; term: Term } | null {
    let best: { index: LogIndex; term: Term } | null = null;
    for (const m of this.markers) if (best === null || m.index > best.index) best = m;
    return best;
  }

  /** Replays one segment's records; returns true if the segment ends with a seal. */
  segment(file: string, seg: SegmentInfo, records: readonly ScannedRecord[], first: boolean): boolean {
    const head = records[0];
    if (head === undefined || head.record.kind !== "header") {
      throw new StorageCorruptError("wal_corrupt", `Cannot start from ${file} at offset 0: the segment has no header record; ${RESTORE_ADVICE}`,
        { file, offset: 0 });
    }
    this.header(file, seg, head.record.header, first);
    for (let k = 1; k < records.length; k++) {
      const { record, offset } = records[k] as ScannedRecord;
      switch (record.kind) {
        case "header":
          throw new StorageCorruptError("wal_corrupt", `Cannot start from ${file} at offset ${offset}: a second segment header; ${RESTORE_ADVICE}`,
            { file, offset });
        case "entry":
          this.entry(file, offset, record.entry);
          break;
        case "hardState":
          this.hardState = record.hardState;
          break;
        case "snapshot":
          this.markers.push({ index: record.marker.index, term: record.marker.term });
          if (record.marker.resetsLog) {
            // A snapshot from the leader replaces the whole log (InstallSnapshot, §7).
            this.base = record.marker.index;
            this.log = [];
          }
          break;
        case "seal":
          if (k !== records.length - 1 || record.nextSeq !== seg.seq + 1) {
            throw new StorageCorruptError("wal_corrupt",
              `Cannot start from ${file} at offset ${offset}: a seal record that is not the segment's last or names segment ${record.nextSeq}; ${RESTORE_ADVICE}`,
              { file, offset });
          }
          return true;
        case "write":
          break;
      }
    }
    return false;
  }

  private header(file: string, seg: SegmentInfo, header: SegmentHeader, first: boolean): void {
    if (header.seq !== seg.seq || header.firstIndex !== seg.firstIndex) {
      throw new StorageCorruptError("wal_corrupt",
        `Cannot start from ${file} at offset 0: its header says segment ${header.seq} from index ${header.firstIndex}, which does not match its name; ${RESTORE_ADVICE}`,
        { file, offset: 0 });
    }
    if (first) {
      // Older segments were deleted after a snapshot: the log resumes here.
      this.base = header.firstIndex - 1;
      this.hardState = header.hardState;
      this.bootstrap = header.bootstrap;
      if (header.snapshot !== null) this.markers.push(header.snapshot);
      return;
    }
    if (header.firstIndex !== this.lastIndex() + 1) {
      throw new StorageCorruptError("wal_missing_segment",
        `Cannot start from ${file} at offset 0: the segment starts at index ${header.firstIndex} but the previous one ends at ${this.lastIndex()}; ${RESTORE_ADVICE}`,
        { file, offset: 0 });
    }
  }

  private entry(file: string, offset: number, entry: Entry): void {
    const last = this.lastIndex();
    if (entry.index > last + 1) {
      throw new StorageCorruptError("wal_corrupt",
        `Cannot start from ${file} at offset ${offset}: entry ${entry.index} follows entry ${last}, leaving a gap in the log; ${RESTORE_ADVICE}`,
        { file, offset });
    }
    if (entry.index <= this.base) {
      // Overwrites reach behind the start of the log: the log restarts at this entry.
      this.base = entry.index - 1;
      this.log = [entry];
      return;
    }
    // Raft overwrote a suffix of the log (a follower accepting a new leader's entries).
    this.log.length = entry.index - this.base - 1;
    this.log.push(entry);
  }

  termAt(index: LogIndex): Term | null {
    if (index <= this.base || index > this.lastIndex()) return null;
    return (this.log[index - this.base - 1] as Entry).term;
  }
}

async function chooseSnapshot(fs: StorageFs, snapDir: string, files: readonly { name: string; term: number; index: number }[],
  replay: Replay, warnings: string[]): Promise<Snapshot | null> {
  const recorded = (f: { term: number; index: number }): boolean => replay.markers.some((m) => m.index === f.index && m.term === f.term);
  let firstFailure: { code: "snapshot_corrupt" | "snapshot_missing"; file: string; reason: string } | null = null;
  const newest = replay.latestMarker();
  if (newest !== null && !files.some((f) => f.index === newest.index && f.term === newest.term)) {
    const file = join(snapDir, snapshotName(newest.term, newest.index));
    firstFailure = { code: "snapshot_missing", file, reason: "the file is missing" };
    warnings.push(`Snapshot ${file} recorded in the WAL is missing`);
  }
  for (const f of files) {
    const file = join(snapDir, f.name);
    // Only snapshots recorded in the WAL count: a file without a marker was being saved when the
    // node stopped, and one the log cannot continue from is useless.
    if (!recorded(f) || f.index < replay.base) continue;
    const term = replay.termAt(f.index);
    if (term !== null && term !== f.term) continue;
    const decoded = decodeSnapshotFile(await fs.readFile(file), f);
    if (decoded.ok) return decoded.snapshot;
    firstFailure ??= { code: "snapshot_corrupt", file, reason: decoded.reason };
    warnings.push(`Snapshot ${file} is unusable (${decoded.reason}); trying an older one`);
  }
  if (replay.base === 0) return null; // the WAL holds the whole log from index 1
  const detail = firstFailure === null ? "no snapshot covers them" : `${firstFailure.file} cannot be used: ${firstFailure.reason}`;
  throw new StorageCorruptError(firstFailure?.code ?? "snapshot_missing",
    `Cannot start from ${snapDir}: the WAL starts after entry ${replay.base}, entries up to it live only in a snapshot, and ${detail}; ${RESTORE_ADVICE}`,
    { file: firstFailure?.file ?? snapDir });
}
