// Framing of one WAL record and the encoding of the four record kinds. Layout of a record:
//
//   u32 LE  payload length (>= 1)
//   u32 LE  CRC32C of the 4 length bytes   -- a flipped bit in a length is caught as such, so it
//                                             cannot pass for a record cut short by a torn write
//   u32 LE  CRC32C of the payload
//   payload: u8 kind (| 0x80 on the last record of a batch), then the kind's body
//
// A batch (one save() call) is applied on recovery only if its last record, the one with the
// batch-end bit, is intact: a torn write never leaves half a batch (entries without their hard
// state, or the reverse) in the recovered state.
import { Buffer } from "node:buffer";
import type { ConfState, Entry, EntryType, HardState, LogIndex, NodeId, Term } from "../raft/types.js";
import { z } from "zod";
import { crc32c } from "./crc32c.js";

/** Bytes before a record's payload. */
export const RECORD_HEADER_BYTES = 12;
/** Largest payload accepted; a larger length is treated as damage. Bounds one entry's data. */
export const RECORD_PAYLOAD_BYTES_MAX = 256 * 1024 * 1024;
/** Bit set in the kind byte of the last record of a batch. */
export const BATCH_END = 0x80;

const KIND_HEADER = 1;
const KIND_ENTRY = 2;
const KIND_HARD_STATE = 3;
const KIND_SNAPSHOT = 4;
const KIND_SEAL = 5;
const KIND_WRITE = 6;
const SEGMENT_MAGIC = "PHXWAL";
/** Version of the WAL format; a segment of another version is refused. */
export const WAL_FORMAT_VERSION = 1;

/** A snapshot that was made durable; `resetsLog` when it came from the leader (InstallSnapshot). */
export interface SnapshotMarker {
  readonly index: LogIndex;
  readonly term: Term;
  readonly resetsLog: boolean;
}

/** First record of every segment: enough state that older segments can be deleted. */
export interface SegmentHeader {
  readonly version: number;
  readonly seq: number;
  /** Index the next entry appended after this header would have (last index + 1 at creation). */
  readonly firstIndex: LogIndex;
  readonly hardState: HardState | null;
  /** The latest durable snapshot when the segment was created. */
  readonly snapshot: { readonly index: LogIndex; readonly term: Term } | null;
  readonly bootstrap: ConfState | null;
}

const index = z.number().int().nonnegative();
const nodeIdSchema = index.positive().transform((n) => n as NodeId);
const confStateSchema = z.object({ voters: z.array(nodeIdSchema), learners: z.array(nodeIdSchema) });
/** Shape of the JSON in a segment header (checked: a matching CRC does not prove it is ours). */
const segmentHeaderSchema = z.object({
  version: z.number().int(),
  seq: index.positive(),
  firstIndex: index.positive(),
  hardState: z.object({ term: index, vote: index.transform((n) => n as NodeId), commit: index }).nullable(),
  snapshot: z.object({ index, term: index }).nullable(),
  bootstrap: confStateSchema.nullable(),
});
/** Shape of a snapshot's metadata JSON. */
export const snapshotMetaSchema = z.object({ index, term: index, confState: confStateSchema });

/** One decoded WAL record. */
export type WalRecord =
  | { readonly kind: "header"; readonly header: SegmentHeader }
  | { readonly kind: "entry"; readonly entry: Entry }
  | { readonly kind: "hardState"; readonly hardState: HardState }
  | { readonly kind: "snapshot"; readonly marker: SnapshotMarker }
  /** Last record of a segment once its successor exists: a sealed LAST segment means files were lost. */
  | { readonly kind: "seal"; readonly nextSeq: number }
  /**
   * First record of every write (a group of batches made durable by one fdatasync). Recovery uses
   * it to tell whether damage lies in the last write, the only one that may be torn.
   */
  | { readonly kind: "write"; readonly bytes: number };

function bodySize(record: WalRecord, headerJson: Uint8Array | null): number {
  switch (record.kind) {
    case "header": return 8 + (headerJson as Uint8Array).length;
    case "entry": return 17 + record.entry.data.length;
    case "hardState": return 24;
    case "snapshot": return 17;
    case "seal": return 8;
    case "write": return 8;
  }
}

function writeU64(buf: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`Cannot encode ${value}: not a non-negative safe integer`);
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

function readU64(buf: Uint8Array, offset: number): number {
  const lo = readU32(buf, offset);
  const hi = readU32(buf, offset + 4);
  return hi * 0x1_0000_0000 + lo;
}

/** Reads a little-endian u32 from any Uint8Array. */
export function readU32(buf: Uint8Array, offset: number): number {
  return ((buf[offset] as number) | ((buf[offset + 1] as number) << 8) | ((buf[offset + 2] as number) << 16) |
    ((buf[offset + 3] as number) << 24)) >>> 0;
}

/** Size of the "write" record that starts every write. */
export const WRITE_RECORD_BYTES = RECORD_HEADER_BYTES + 9;

/** Encodes the record that starts a write of `bytes` bytes (itself included), without the batch-end bit. */
export function encodeWriteStart(bytes: number): Buffer {
  return encodeBatch([{ kind: "write", bytes }], false);
}

/** Encodes records as one buffer (one write); the last record carries the batch-end bit. */
export function encodeBatch(records: readonly WalRecord[], endsBatch = true): Buffer {
  let total = 0;
  const jsons: (Uint8Array | null)[] = records.map((r) =>
    r.kind === "header" ? Buffer.from(JSON.stringify(r.header), "utf8") : null);
  for (let i = 0; i < records.length; i++) total += RECORD_HEADER_BYTES + 1 + bodySize(records[i] as WalRecord, jsons[i] ?? null);
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as WalRecord;
    const payloadLength = 1 + bodySize(record, jsons[i] ?? null);
    if (payloadLength > RECORD_PAYLOAD_BYTES_MAX) {
      throw new Error(`Cannot write a WAL record of ${payloadLength} bytes: the limit is ${RECORD_PAYLOAD_BYTES_MAX}`);
    }
    const p = off + RECORD_HEADER_BYTES;
    writeBody(buf, p + 1, record, jsons[i] ?? null);
    buf[p] = kindByte(record) | (endsBatch && i === records.length - 1 ? BATCH_END : 0);
    buf.writeUInt32LE(payloadLength, off);
    buf.writeUInt32LE(crc32c(buf, 0, off, off + 4), off + 4);
    buf.writeUInt32LE(crc32c(buf, 0, p, p + payloadLength), off + 8);
    off = p + payloadLength;
  }
  return buf;
}

function kindByte(record: WalRecord): number {
  switch (record.kind) {
    case "header": return KIND_HEADER;
    case "entry": return KIND_ENTRY;
    case "hardState": return KIND_HARD_STATE;
    case "snapshot": return KIND_SNAPSHOT;
    case "seal": return KIND_SEAL;
    case "write": return KIND_WRITE;
  }
}

function writeBody(buf: Buffer, o: number, record: WalRecord, json: Uint8Array | null): void {
  switch (record.kind) {
    case "header":
      buf.write(SEGMENT_MAGIC, o, "latin1");
      buf.writeUInt16LE(WAL_FORMAT_VERSION, o + 6);
      buf.set(json as Uint8Array, o + 8);
      return;
    case "entry": {
      const e = record.entry;
      writeU64(buf, e.term, o);
      writeU64(buf, e.index, o + 8);
      buf[o + 16] = e.type === "config" ? 1 : 0;
      buf.set(e.data, o + 17);
      return;
    }
    case "hardState": {
      const h = record.hardState;
      writeU64(buf, h.term, o);
      writeU64(buf, h.vote, o + 8);
      writeU64(buf, h.commit, o + 16);
      return;
    }
    case "snapshot":
      writeU64(buf, record.marker.index, o);
      writeU64(buf, record.marker.term, o + 8);
      buf[o + 16] = record.marker.resetsLog ? 1 : 0;
      return;
    case "seal":
      writeU64(buf, record.nextSeq, o);
      return;
    case "write":
      writeU64(buf, record.bytes, o);
      return;
  }
}

/** Result of reading the record at an offset: a record, or why none could be read there. */
export type FrameRead =
  | { readonly ok: true; readonly payload: Uint8Array; readonly batchEnd: boolean; readonly next: number }
  | { readonly ok: false; readonly reason: "short_header" | "bad_length" | "short_payload" | "bad_checksum"; readonly end: number };

/** Checks the framing of the record at `offset` (length, its CRC, payload CRC). */
export function readFrame(buf: Uint8Array, offset: number): FrameRead {
  if (buf.length - offset < RECORD_HEADER_BYTES) return { ok: false, reason: "short_header", end: buf.length };
  const length = readU32(buf, offset);
  if (crc32c(buf, 0, offset, offset + 4) !== readU32(buf, offset + 4) || length < 1 || length > RECORD_PAYLOAD_BYTES_MAX) {
    return { ok: false, reason: "bad_length", end: buf.length };
  }
  const start = offset + RECORD_HEADER_BYTES;
  const end = start + length;
  if (end > buf.length) return { ok: false, reason: "short_payload", end: buf.length };
  if (crc32c(buf, 0, start, end) !== readU32(buf, offset + 8)) return { ok: false, reason: "bad_checksum", end };
  return { ok: true, payload: buf.subarray(start, end), batchEnd: ((buf[start] as number) & BATCH_END) !== 0, next: end };
}

/**
 * Decodes a payload whose checksum matched. Throws on a malformed body: with a matching CRC that
 * means a format this code does not understand, which the caller reports as corruption.
 */
export function decodePayload(payload: Uint8Array): WalRecord {
  const kind = (payload[0] as number) & ~BATCH_END;
  const o = 1;
  const need = (n: number): void => {
    if (payload.length < o + n) throw new Error(`record of kind ${kind} is ${payload.length} bytes, expected at least ${o + n}`);
  };
  switch (kind) {
    case KIND_HEADER: {
      need(8);
      const magic = Buffer.from(payload.buffer, payload.byteOffset + o, 6).toString("latin1");
      const version = (payload[o + 6] as number) | ((payload[o + 7] as number) << 8);
      if (magic !== SEGMENT_MAGIC) throw new Error(`segment header has magic ${JSON.stringify(magic)}`);
      if (version !== WAL_FORMAT_VERSION) throw new Error(`segment format version ${version} is not supported (this build reads ${WAL_FORMAT_VERSION})`);
      const text = Buffer.from(payload.buffer, payload.byteOffset + o + 8, payload.length - o - 8).toString("utf8");
      const parsed = segmentHeaderSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`segment header is malformed (${parsed.error.issues[0]?.message ?? "unknown"})`);
      return { kind: "header", header: parsed.data };
    }
    case KIND_ENTRY: {
      need(17);
      const typeByte = payload[o + 16];
      if (typeByte !== 0 && typeByte !== 1) throw new Error(`entry type ${typeByte} is unknown`);
      const type: EntryType = typeByte === 1 ? "config" : "normal";
      return {
        kind: "entry",
        entry: { term: readU64(payload, o), index: readU64(payload, o + 8), type, data: payload.slice(o + 17) },
      };
    }
    case KIND_HARD_STATE:
      need(24);
      return {
        kind: "hardState",
        hardState: { term: readU64(payload, o), vote: readU64(payload, o + 8) as NodeId, commit: readU64(payload, o + 16) },
      };
    case KIND_SNAPSHOT:
      need(17);
      return { kind: "snapshot", marker: { index: readU64(payload, o), term: readU64(payload, o + 8), resetsLog: payload[o + 16] === 1 } };
    case KIND_SEAL:
      need(8);
      return { kind: "seal", nextSeq: readU64(payload, o) };
    case KIND_WRITE:
      need(8);
      return { kind: "write", bytes: readU64(payload, o) };
    default:
      throw new Error(`record kind ${kind} is unknown`);
  }
}
