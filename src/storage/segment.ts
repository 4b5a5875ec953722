// Reading one WAL segment and deciding where its valid data ends. The rule that matters:
// only the LAST segment may end in damage, and only damage that looks like a torn write is cut
// off. Everything else refuses to start, because it could hide writes that were acknowledged.
import { StorageCorruptError, RESTORE_ADVICE } from "./errors.js";
import { decodePayload, encodeBatch, readFrame, readU32, RECORD_HEADER_BYTES, WRITE_RECORD_BYTES } from "./record.js";
import type { FrameRead, WalRecord } from "./record.js";
import { crc32c } from "./crc32c.js";

/** File-name suffix of WAL segments. */
export const SEGMENT_SUFFIX = ".wal";
/** Granularity at which disks persist writes; a torn write leaves whole sectors unwritten (zero). */
export const SECTOR_BYTES = 512;
const HEX_DIGITS = 16;

/** `<seq>-<firstIndex>.wal`, both as 16 hex digits so that names sort in order. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${seq.toString(16).padStart(HEX_DIGITS, "0")}-${firstIndex.toString(16).padStart(HEX_DIGITS, "0")}${SEGMENT_SUFFIX}`;
}

/** Parses a segment file name; null for any other name. */
export function parseSegmentName(name: string): { seq: number; firstIndex: number } | null {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/.exec(name);
  if (!m) return null;
  return { seq: parseInt(m[1] as string, 16), firstIndex: parseInt(m[2] as string, 16) };
}

/** A decoded record and where it starts in its file. */
export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
}

/** What a segment holds: records of complete batches, and where the valid bytes end. */
export interface SegmentScan {
  readonly records: readonly ScannedRecord[];
  /** End of the last complete batch; a torn tail starts here. */
  readonly validBytes: number;
  /** Bytes after validBytes that recovery drops (0 unless this is the last segment and it was torn). */
  readonly tornBytes: number;
  /** Why the tail was judged torn, for the log; null when nothing was dropped. */
  readonly tornReason: string | null;
}

/**
 * Scans a segment. In the last segment, an incomplete final batch is dropped when the damage is
 * consistent with a torn write (see isTornWrite); any other bad record throws StorageCorruptError.
 */
export function scanSegment(buf: Uint8Array, where: { readonly file: string; readonly seq: number; readonly isLast: boolean }): SegmentScan {
  const { file, isLast } = where;
  const records: ScannedRecord[] = [];
  let pending: ScannedRecord[] = [];
  let validBytes = 0;
  let off = 0;
  let bad: Extract<FrameRead, { ok: false }> | null = null;
  while (off < buf.length) {
    const frame = readFrame(buf, off);
    if (!frame.ok) {
      bad = frame;
      break;
    }
    let record: WalRecord;
    try {
      record = decodePayload(frame.payload);
    } catch (err) {
      throw corrupt(file, off, `a record with a valid checksum cannot be decoded (${(err as Error).message})`, err);
    }
    pending.push({ record, offset: off });
    off = frame.next;
    if (frame.batchEnd) {
      records.push(...pending);
      pending = [];
      validBytes = off;
    }
  }
  if (bad === null && pending.length === 0) return { records, validBytes, tornBytes: 0, tornReason: null };
  if (!isLast && isPartialSeal(buf.subarray(validBytes), where.seq + 1)) {
    // The node stopped while sealing this segment, after its successor was made durable (a full
    // disk, a crash): the segment is complete, just not sealed.
    return { records, validBytes, tornBytes: buf.length - validBytes, tornReason: "the seal record is incomplete" };
  }
  if (!isLast) {
    const what = bad === null ? "ends inside a batch" : `has a bad record (${describe(bad.reason)})`;
    throw corrupt(file, bad === null ? validBytes : off, `the segment ${what}, and only the last segment may end in a torn write`);
  }
  if (bad === null) {
    // Every record is intact but the batch's last one is missing: the write stopped exactly at a
    // record boundary (a short write or a crash between two pieces of one write).
    return { records, validBytes, tornBytes: buf.length - validBytes, tornReason: "the last batch is incomplete" };
  }
  const verdict = isTornWrite(buf, off, bad);
  if (verdict !== null) {
    return { records, validBytes, tornBytes: buf.length - validBytes, tornReason: verdict };
  }
  throw corrupt(file, off, `${describe(bad.reason)} in the last segment, and the damage does not look like a torn write ` +
    "(the record is complete and not zero-filled, or a later write follows it)");
}

function describe(reason: Extract<FrameRead, { ok: false }>["reason"]): string {
  switch (reason) {
    case "short_header": return "the file ends inside a record header";
    case "bad_length": return "a record length fails its checksum";
    case "short_payload": return "the file ends inside a record";
    case "bad_checksum": return "a record fails its CRC32C check";
  }
}

/**
 * Decides whether a bad record at the end of the last segment is a torn write: the last write,
 * interrupted by a crash or power loss. save() resolves only after the fdatasync that follows
 * its write returns, so a torn write was never acknowledged, and only the last write can be torn.
 *
 * Two conditions. First, the damage looks like an interrupted write: the file ends early, or
 * whole sectors were never written and read back as zeros. A record that is complete, non-zero
 * and fails its CRC is something else: a flipped bit in data whose fdatasync may have returned,
 * so it may have been acknowledged. We cannot tell, and dropping it could lose an acknowledged
 * write, so that case refuses to start (etcd decides alike). Second, the damage lies in the last
 * write: no intact "write" record (the first record of every write) follows it. Disks may persist
 * the sectors of one write out of order, so intact records of the same last write may follow.
 */
export function isTornWrite(buf: Uint8Array, off: number, bad: Extract<FrameRead, { ok: false }>): string | null {
  if (writeStartAfter(buf, off + 1)) return null;
  switch (bad.reason) {
    case "short_header":
    case "short_payload":
      return describe(bad.reason);
    case "bad_length":
    case "bad_checksum":
      return hasZeroSector(buf, off, bad.end) ? `${describe(bad.reason)} and part of it is zero-filled` : null;
  }
}

/** True if `tail` is a seal record for `nextSeq` cut short, possibly with zeros for unwritten bytes. */
export function isPartialSeal(tail: Uint8Array, nextSeq: number): boolean {
  const seal = encodeBatch([{ kind: "seal", nextSeq }]);
  if (tail.length >= seal.length) return false;
  for (let i = 0; i < tail.length; i++) if (tail[i] !== seal[i] && tail[i] !== 0) return false;
  return true;
}

/** True if some sector-aligned piece of buf[start, end) is all zeros. */
export function hasZeroSector(buf: Uint8Array, start: number, end: number): boolean {
  let chunkStart = start;
  while (chunkStart < end) {
    const chunkEnd = Math.min(end, (Math.floor(chunkStart / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    let zero = true;
    for (let i = chunkStart; i < chunkEnd; i++) {
      if (buf[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) return true;
    chunkStart = chunkEnd;
  }
  return false;
}

/** True if an intact "write" record (the start of a later write) begins at or after `from`. */
export function writeStartAfter(buf: Uint8Array, from: number): boolean {
  for (let y = from; y + RECORD_HEADER_BYTES < buf.length; y++) {
    const length = readU32(buf, y);
    // Cheap tests first: most offsets give a length that cannot be a write record's.
    if (length !== WRITE_RECORD_BYTES - RECORD_HEADER_BYTES || y + RECORD_HEADER_BYTES + length > buf.length) continue;
    if (crc32c(buf, 0, y, y + 4) !== readU32(buf, y + 4)) continue;
    const frame = readFrame(buf, y);
    if (frame.ok && decodePayload(frame.payload).kind === "write") return true;
  }
  return false;
}

function corrupt(file: string, offset: number, what: string, cause?: unknown): StorageCorruptError {
  return new StorageCorruptError("wal_corrupt", `Cannot start from ${file} at offset ${offset}: ${what}; ${RESTORE_ADVICE}`,
    { file, offset, cause });
}
