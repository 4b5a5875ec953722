// Binary codec of Raft messages, on the hot path: one frame per message, fixed-width fields, sizes
// computed first so a whole batch is encoded into one Buffer with no intermediate copies.
//
// Every message body starts with from, to and term; numbers are unsigned 53-bit integers stored in
// 8 bytes big-endian (hi 32 bits, lo 32 bits); booleans are one byte; strings and byte arrays are a
// 4-byte length then the bytes. The frame kind says which message type follows (MESSAGE_KINDS).
import type { Entry, EntryType, Message, MessageType, NodeId, Snapshot } from "../raft/types.js";
import type { ByteArena } from "./arena.js";
import { FRAME_HEADER_BYTES, writeFrameHeader } from "./frame.js";

/** Frame kind of the connection opening: protocol version, from, to. */
export const KIND_HELLO = 0;
/** Frame kind of the acceptor's answer to a hello: from then on, messages may flow. */
export const KIND_HELLO_ACK = 1;
/** Frame kind of the acceptor's refusal: a UTF-8 reason, then the acceptor closes. */
export const KIND_REFUSE = 2;
/** Version of this wire protocol, sent in the hello. 2: snapshots stream in chunks (snapshot-frames.ts). */
export const PROTOCOL_VERSION = 2;

/** Frame kind of each Raft message type (16 and up; 0-15 are connection control and snapshot streaming). */
export const MESSAGE_KINDS: Readonly<Record<MessageType, number>> = {
  append: 16,
  appendResponse: 17,
  heartbeat: 18,
  heartbeatResponse: 19,
  vote: 20,
  preVote: 21,
  voteResponse: 22,
  preVoteResponse: 23,
  snapshot: 24,
  timeoutNow: 25,
  readIndex: 26,
  readIndexResponse: 27,
};
const TYPE_OF_KIND: readonly (MessageType | undefined)[] = (() => {
  const table: (MessageType | undefined)[] = [];
  for (const [type, kind] of Object.entries(MESSAGE_KINDS)) table[kind] = type as MessageType;
  return table;
})();

/** The message type a frame kind carries, or null for control frames and unknown kinds. */
export function messageTypeOfKind(kind: number): MessageType | null {
  return TYPE_OF_KIND[kind] ?? null;
}

/** A frame body that does not decode; the connection must be closed. */
export class CodecError extends Error {
  override readonly name = "CodecError";
  readonly code = "bad_message";
}

const U64 = 8;
const TWO_POW_32 = 4294967296;
const BASE_BYTES = 3 * U64;
const ENTRY_HEADER_BYTES = 2 * U64 + 1 + 4;

function stringBytes(s: string): number {
  // ASCII fast path: Raft read contexts are short ids.
  return s.length < 64 && /^[\x20-\x7e]*$/.test(s) ? s.length : Buffer.byteLength(s, "utf8");
}

/** Bytes of the body of `m` (without the frame header). */
export function encodedBodyBytes(m: Message): number {
  switch (m.type) {
    case "append": {
      let n = BASE_BYTES + 3 * U64 + 4;
      for (const e of m.entries) n += ENTRY_HEADER_BYTES + e.data.length;
      return n;
    }
    case "appendResponse": return BASE_BYTES + 1 + 3 * U64;
    case "heartbeat": return BASE_BYTES + U64 + 4 + stringBytes(m.context);
    case "heartbeatResponse": return BASE_BYTES + 4 + stringBytes(m.context);
    case "vote":
    case "preVote": return BASE_BYTES + 2 * U64 + 1;
    case "voteResponse":
    case "preVoteResponse": return BASE_BYTES + 1;
    case "snapshot": {
      const c = m.snapshot.meta.confState;
      return BASE_BYTES + 2 * U64 + 4 + c.voters.length * U64 + 4 + c.learners.length * U64 + 4 + m.snapshot.data.length;
    }
    case "timeoutNow": return BASE_BYTES;
    case "readIndex": return BASE_BYTES + 4 + stringBytes(m.context);
    case "readIndexResponse": return BASE_BYTES + 4 + stringBytes(m.context) + U64;
  }
}

/** Bytes of the whole frame of `m`. */
export function encodedFrameBytes(m: Message): number {
  return FRAME_HEADER_BYTES + encodedBodyBytes(m);
}

/**
 * Encodes `messages` as consecutive frames into one Buffer. `frameBytes[i]`, when given, must be
 * encodedFrameBytes(messages[i]) (the sender has it from queue accounting).
 */
export function encodeMessages(messages: readonly Message[], frameBytes?: readonly number[]): Buffer {
  let total = 0;
  const sizes = frameBytes ?? messages.map(encodedFrameBytes);
  for (const s of sizes) total += s;
  const buf = Buffer.allocUnsafe(total);
  const out: Out = { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) };
  let offset = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    const size = sizes[i] as number;
    writeFrameHeader(buf, offset, MESSAGE_KINDS[m.type], size - FRAME_HEADER_BYTES);
    const end = writeBody(out, offset + FRAME_HEADER_BYTES, m);
    if (end !== offset + size) throw new Error(`Encoded ${m.type} message is ${end - offset} bytes, expected ${size}: codec size table is wrong`);
    offset = end;
  }
  return buf;
}

// A DataView beside the Buffer: its setUint32 is inlined by V8, Buffer's writeUInt32BE is not.
interface Out {
  readonly buf: Buffer;
  readonly view: DataView;
}
function putU64(out: Out, off: number, v: number): number {
  if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) throw new Error(`Cannot encode ${v}: not a non-negative safe integer`);
  out.view.setUint32(off, Math.floor(v / TWO_POW_32));
  out.view.setUint32(off + 4, v >>> 0);
  return off + U64;
}
function putU32(out: Out, off: number, v: number): number {
  out.view.setUint32(off, v);
  return off + 4;
}
function putBytes(out: Out, off: number, bytes: Uint8Array): number {
  out.view.setUint32(off, bytes.length);
  out.buf.set(bytes, off + 4);
  return off + 4 + bytes.length;
}
function putString(out: Out, off: number, s: string): number {
  const n = out.buf.write(s, off + 4, "utf8");
  out.view.setUint32(off, n);
  return off + 4 + n;
}

function writeBody(out: Out, start: number, m: Message): number {
  const buf = out.buf;
  let o = putU64(out, start, m.from);
  o = putU64(out, o, m.to);
  o = putU64(out, o, m.term);
  switch (m.type) {
    case "append":
      o = putU64(out, o, m.prevIndex);
      o = putU64(out, o, m.prevTerm);
      o = putU64(out, o, m.commit);
      o = putU32(out, o, m.entries.length);
      for (const e of m.entries) {
        o = putU64(out, o, e.term);
        o = putU64(out, o, e.index);
        buf[o++] = e.type === "normal" ? 0 : 1;
        o = putBytes(out, o, e.data);
      }
      return o;
    case "appendResponse":
      buf[o++] = m.reject ? 1 : 0;
      o = putU64(out, o, m.index);
      o = putU64(out, o, m.hintIndex);
      return putU64(out, o, m.hintTerm);
    case "heartbeat":
      o = putU64(out, o, m.commit);
      return putString(out, o, m.context);
    case "heartbeatResponse":
      return putString(out, o, m.context);
    case "vote":
    case "preVote":
      o = putU64(out, o, m.lastIndex);
      o = putU64(out, o, m.lastTerm);
      buf[o++] = m.transfer ? 1 : 0;
      return o;
    case "voteResponse":
    case "preVoteResponse":
      buf[o++] = m.reject ? 1 : 0;
      return o;
    case "snapshot": {
      const meta = m.snapshot.meta;
      o = putU64(out, o, meta.index);
      o = putU64(out, o, meta.term);
      o = putU32(out, o, meta.confState.voters.length);
      for (const id of meta.confState.voters) o = putU64(out, o, id);
      o = putU32(out, o, meta.confState.learners.length);
      for (const id of meta.confState.learners) o = putU64(out, o, id);
      return putBytes(out, o, m.snapshot.data);
    }
    case "timeoutNow":
      return o;
    case "readIndex":
      return putString(out, o, m.context);
    case "readIndexResponse":
      o = putString(out, o, m.context);
      return putU64(out, o, m.index);
  }
}

/** A bounds-checked reader over one frame body. */
class Reader {
  offset = 0;
  private readonly view: DataView;
  constructor(readonly buf: Buffer, private readonly arena: ByteArena | null) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.offset + n > this.buf.length) {
      throw new CodecError(`Cannot decode message: body ends at byte ${this.buf.length}, needed ${this.offset + n}`);
    }
  }
  u64(): number {
    this.need(U64);
    const hi = this.view.getUint32(this.offset);
    const lo = this.view.getUint32(this.offset + 4);
    this.offset += U64;
    if (hi >= 0x200000) throw new CodecError(`Cannot decode message: integer at byte ${this.offset - U64} exceeds 2^53`);
    return hi * TWO_POW_32 + lo;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  bool(): boolean {
    this.need(1);
    const v = this.buf[this.offset++] as number;
    if (v > 1) throw new CodecError(`Cannot decode message: byte ${this.offset - 1} is ${v}, expected a boolean`);
    return v === 1;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    // A plain Uint8Array, not a Buffer: consumers compare and store it as the types promise.
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.offset, n);
    const out = this.arena === null ? view : this.arena.copy(view);
    this.offset += n;
    return out;
  }
  u8AsEntryType(): EntryType {
    this.need(1);
    const v = this.buf[this.offset++] as number;
    if (v === 0) return "normal";
    if (v === 1) return "config";
    throw new CodecError(`Cannot decode message: entry type byte ${v} at ${this.offset - 1} is unknown`);
  }
  string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
  nodeId(): NodeId {
    return this.u64() as NodeId;
  }
  nodeIds(): NodeId[] {
    const n = this.u32();
    this.need(n * U64);
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++) ids.push(this.nodeId());
    return ids;
  }
  end(): void {
    if (this.offset !== this.buf.length) {
      throw new CodecError(`Cannot decode message: ${this.buf.length - this.offset} unexpected bytes after the message`);
    }
  }
}

/**
 * Decodes the body of a message frame of `kind`. With an `arena`, entry and snapshot data are
 * copied out of `body` (see arena.ts: a socket chunk must not be pinned by the log); without one,
 * they are views into `body`, which the caller then must not reuse.
 */
export function decodeMessage(kind: number, body: Buffer, arena: ByteArena | null = null): Message {
  const type = messageTypeOfKind(kind);
  if (type === null) throw new CodecError(`Cannot decode message: frame kind ${kind} is not a message`);
  const r = new Reader(body, arena);
  const from = r.nodeId();
  const to = r.nodeId();
  const term = r.u64();
  const m = decodeRest(type, r, from, to, term);
  r.end();
  return m;
}

function decodeRest(type: MessageType, r: Reader, from: NodeId, to: NodeId, term: number): Message {
  switch (type) {
    case "append": {
      const prevIndex = r.u64();
      const prevTerm = r.u64();
      const commit = r.u64();
      const count = r.u32();
      r.need(count * ENTRY_HEADER_BYTES);
      const entries: Entry[] = new Array<Entry>(count);
      for (let i = 0; i < count; i++) {
        const eTerm = r.u64();
        const index = r.u64();
        const t = r.u8AsEntryType();
        entries[i] = { term: eTerm, index, type: t, data: r.bytes() };
      }
      return { type, from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case "appendResponse": {
      const reject = r.bool();
      return { type, from, to, term, reject, index: r.u64(), hintIndex: r.u64(), hintTerm: r.u64() };
    }
    case "heartbeat": {
      const commit = r.u64();
      return { type, from, to, term, commit, context: r.string() };
    }
    case "heartbeatResponse": return { type, from, to, term, context: r.string() };
    case "vote":
    case "preVote": {
      const lastIndex = r.u64();
      const lastTerm = r.u64();
      return { type, from, to, term, lastIndex, lastTerm, transfer: r.bool() };
    }
    case "voteResponse":
    case "preVoteResponse": return { type, from, to, term, reject: r.bool() };
    case "snapshot": {
      const index = r.u64();
      const sTerm = r.u64();
      const voters = r.nodeIds();
      const learners = r.nodeIds();
      const snapshot: Snapshot = { meta: { index, term: sTerm, confState: { voters, learners } }, data: r.bytes() };
      return { type, from, to, term, snapshot };
    }
    case "timeoutNow": return { type, from, to, term };
    case "readIndex": return { type, from, to, term, context: r.string() };
    case "readIndexResponse": {
      const context = r.string();
      return { type, from, to, term, context, index: r.u64() };
    }
  }
}

