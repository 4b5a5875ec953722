// Wire frames of a streamed snapshot. A Raft snapshot may be far larger than any frame, so the
// dialer sends it as a transfer: one begin frame (the snapshot message without its data, plus the
// total size), data chunks of bounded size in order, and an end frame with the CRC-32 of the whole
// data. The acceptor answers each chunk with an ack (how many bytes it holds), which is the sender's
// flow control, and finally with "delivered" or "refused" (with the reason).
//
// | frame | body |
// | --- | --- |
// | begin (3) | transferId u64, totalBytes u64, snapshot message body with empty data (codec.ts) |
// | chunk (4) | transferId u64, offset u64, data (the rest of the frame) |
// | end (5) | transferId u64, totalBytes u64, crc32 u32 |
// | ack (6, acceptor to dialer) | transferId u64, receivedBytes u64, u8 status, UTF-8 reason (refused only) |
import type { SnapshotMessage } from "../raft/types.js";
import { CodecError, decodeMessage, encodedBodyBytes, encodeMessages, MESSAGE_KINDS } from "./codec.js";
import { FRAME_HEADER_BYTES, writeFrameHeader } from "./frame.js";

/** Frame kind that opens a snapshot transfer. */
export const KIND_SNAPSHOT_BEGIN = 3;
/** Frame kind of one data chunk of a snapshot transfer. */
export const KIND_SNAPSHOT_CHUNK = 4;
/** Frame kind that closes a snapshot transfer with its checksum. */
export const KIND_SNAPSHOT_END = 5;
/** Frame kind of the receiver's acknowledgement of a snapshot transfer. */
export const KIND_SNAPSHOT_ACK = 6;

/** Largest end frame (kind + body). */
export const SNAPSHOT_END_FRAME_BOUND = 1 + 8 + 8 + 4;
/** Largest ack frame (kind + body): a reason for a person to read. */
export const SNAPSHOT_ACK_FRAME_BOUND = 1024;
/** Bytes of a chunk body before its data. */
export const SNAPSHOT_CHUNK_HEADER_BYTES = 16;

/** The receiver's state of a transfer, as it tells the sender. */
export type SnapshotAckStatus = "receiving" | "delivered" | "refused";
const STATUS_CODES: readonly SnapshotAckStatus[] = ["receiving", "delivered", "refused"];

/** A decoded begin frame: the transfer and the snapshot message whose data will follow. */
export interface SnapshotBegin {
  readonly transferId: number;
  readonly totalBytes: number;
  /** The snapshot message with empty data. */
  readonly message: SnapshotMessage;
}

/** A decoded chunk frame; `data` is a view into the frame. */
export interface SnapshotChunk {
  readonly transferId: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** A decoded end frame. */
export interface SnapshotEnd {
  readonly transferId: number;
  readonly totalBytes: number;
  readonly crc32: number;
}

/** A decoded ack frame. */
export interface SnapshotAck {
  readonly transferId: number;
  readonly receivedBytes: number;
  readonly status: SnapshotAckStatus;
  readonly reason: string;
}

const TWO_POW_32 = 4294967296;

function putU64(buf: Buffer, offset: number, v: number): void {
  buf.writeUInt32BE(Math.floor(v / TWO_POW_32), offset);
  buf.writeUInt32BE(v >>> 0, offset + 4);
}

function getU64(buf: Buffer, offset: number, what: string): number {
  const hi = buf.readUInt32BE(offset);
  if (hi >= 0x200000) throw new CodecError(`Cannot decode snapshot ${what}: integer at byte ${offset} exceeds 2^53`);
  return hi * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

function needBytes(body: Buffer, n: number, what: string): void {
  if (body.length < n) throw new CodecError(`Cannot decode snapshot ${what}: body is ${body.length} bytes, needs at least ${n}`);
}

/** The begin frame of transfer `transferId` of `m`. */
export function encodeSnapshotBegin(transferId: number, m: SnapshotMessage): Buffer {
  const header: SnapshotMessage = { ...m, snapshot: { meta: m.snapshot.meta, data: new Uint8Array(0) } };
  const messageBytes = encodedBodyBytes(header);
  const bodyBytes = 16 + messageBytes;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  writeFrameHeader(buf, 0, KIND_SNAPSHOT_BEGIN, bodyBytes);
  putU64(buf, FRAME_HEADER_BYTES, transferId);
  putU64(buf, FRAME_HEADER_BYTES + 8, m.snapshot.data.length);
  // The message body is written by the Raft codec (a few hundred bytes); its frame header is skipped.
  encodeMessages([header]).copy(buf, FRAME_HEADER_BYTES + 16, FRAME_HEADER_BYTES);
  return buf;
}

/** Decodes a begin body. */
export function decodeSnapshotBegin(body: Buffer): SnapshotBegin {
  needBytes(body, 16, "begin");
  const transferId = getU64(body, 0, "begin");
  const totalBytes = getU64(body, 8, "begin");
  const m = decodeMessage(MESSAGE_KINDS.snapshot, body.subarray(16));
  if (m.type !== "snapshot" || m.snapshot.data.length !== 0) throw new CodecError("Cannot decode snapshot begin: it must carry a snapshot message without data");
  return { transferId, totalBytes, message: m };
}

/** The chunk frame carrying `data` at `offset` of transfer `transferId`. */
export function encodeSnapshotChunk(transferId: number, offset: number, data: Uint8Array): Buffer {
  const bodyBytes = SNAPSHOT_CHUNK_HEADER_BYTES + data.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  writeFrameHeader(buf, 0, KIND_SNAPSHOT_CHUNK, bodyBytes);
  putU64(buf, FRAME_HEADER_BYTES, transferId);
  putU64(buf, FRAME_HEADER_BYTES + 8, offset);
  buf.set(data, FRAME_HEADER_BYTES + SNAPSHOT_CHUNK_HEADER_BYTES);
  return buf;
}

/** Decodes a chunk body; the data is a view into `body`. */
export function decodeSnapshotChunk(body: Buffer): SnapshotChunk {
  needBytes(body, SNAPSHOT_CHUNK_HEADER_BYTES, "chunk");
  return {
    transferId: getU64(body, 0, "chunk"),
    offset: getU64(body, 8, "chunk"),
    data: body.subarray(SNAPSHOT_CHUNK_HEADER_BYTES),
  };
}

/** The end frame of transfer `transferId`. */
export function encodeSnapshotEnd(end: SnapshotEnd): Buffer {
  const bodyBytes = SNAPSHOT_END_FRAME_BOUND - 1;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  writeFrameHeader(buf, 0, KIND_SNAPSHOT_END, bodyBytes);
  putU64(buf, FRAME_HEADER_BYTES, end.transferId);
  putU64(buf, FRAME_HEADER_BYTES + 8, end.totalBytes);
  buf.writeUInt32BE(end.crc32 >>> 0, FRAME_HEADER_BYTES + 16);
  return buf;
}

/** Decodes an end body. */
export function decodeSnapshotEnd(body: Buffer): SnapshotEnd {
  if (body.length !== SNAPSHOT_END_FRAME_BOUND - 1) throw new CodecError(`Cannot decode snapshot end: body is ${body.length} bytes, expected ${SNAPSHOT_END_FRAME_BOUND - 1}`);
  return { transferId: getU64(body, 0, "end"), totalBytes: getU64(body, 8, "end"), crc32: body.readUInt32BE(16) };
}

/** The ack frame of `ack` (the reason is cut to fit the ack bound). */
export function encodeSnapshotAck(ack: SnapshotAck): Buffer {
  const reason = Buffer.from(ack.reason, "utf8").subarray(0, SNAPSHOT_ACK_FRAME_BOUND - 18);
  const bodyBytes = 17 + reason.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyBytes);
  writeFrameHeader(buf, 0, KIND_SNAPSHOT_ACK, bodyBytes);
  putU64(buf, FRAME_HEADER_BYTES, ack.transferId);
  putU64(buf, FRAME_HEADER_BYTES + 8, ack.receivedBytes);
  buf[FRAME_HEADER_BYTES + 16] = STATUS_CODES.indexOf(ack.status);
  reason.copy(buf, FRAME_HEADER_BYTES + 17);
  return buf;
}

/** Decodes an ack body. */
export function decodeSnapshotAck(body: Buffer): SnapshotAck {
  needBytes(body, 17, "ack");
  const status = STATUS_CODES[body[16] as number];
  if (status === undefined) throw new CodecError(`Cannot decode snapshot ack: status byte ${body[16]} is unknown`);
  return { transferId: getU64(body, 0, "ack"), receivedBytes: getU64(body, 8, "ack"), status, reason: body.toString("utf8", 17) };
}
