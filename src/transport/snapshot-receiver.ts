// The receiving side of streamed snapshots on one accepted connection: at most one transfer at a
// time (a peer has one connection, and a new begin discards an unfinished transfer: its sender
// gave up on it). Chunks must arrive in order and without gaps or repeats; the data is copied into
// one buffer of the announced size (bounded by maxSnapshotBytes), and the snapshot message goes to
// Raft only when the size and the CRC-32 of the end frame match. Anything else refuses the
// transfer with a reason the sender logs; the connection and its other messages carry on.
// No timers here: the connection discards a stalled transfer through discard().
import { crc32 } from "node:zlib";
import type { NodeId, SnapshotMessage } from "../raft/types.js";
import type { TransportLimits } from "./limits.js";
import {
  decodeSnapshotBegin, decodeSnapshotChunk, decodeSnapshotEnd, encodeSnapshotAck, type SnapshotAckStatus,
} from "./snapshot-frames.js";

/** What one snapshot frame did. */
export interface SnapshotFrameResult {
  /** Ack to write back to the sender, or null. */
  readonly ack: Buffer | null;
  /** The complete, verified snapshot message to hand to Raft, or null. */
  readonly message: SnapshotMessage | null;
  /** Why the transfer was refused (to log), or null. */
  readonly refusal: string | null;
}

interface Incoming {
  readonly transferId: number;
  readonly header: SnapshotMessage;
  readonly data: Buffer;
  receivedBytes: number;
  crc: number;
}

const NOTHING: SnapshotFrameResult = { ack: null, message: null, refusal: null };

/** Reassembles the snapshot transfers of one connection from `peerId` to `localId`. */
export class SnapshotReceiver {
  private incoming: Incoming | null = null;

  constructor(private readonly peerId: NodeId, private readonly localId: NodeId, private readonly limits: Pick<TransportLimits, "maxSnapshotBytes">) {}

  /** True while a transfer is being received. */
  get active(): boolean {
    return this.incoming !== null;
  }

  /** Bytes held for the transfer under way (its whole announced size). */
  get heldBytes(): number {
    return this.incoming?.data.length ?? 0;
  }

  /**
   * A begin frame. Throws CodecError for a malformed frame, and a plain Error naming the sender
   * mismatch when the message's from/to do not match the connection (the caller closes it).
   */
  begin(body: Buffer): SnapshotFrameResult {
    const begin = decodeSnapshotBegin(body);
    const m = begin.message;
    if (m.from !== this.peerId) throw new Error(`snapshot claims to come from node ${m.from} but the certificate is for node ${this.peerId}`);
    if (m.to !== this.localId) throw new Error(`snapshot is addressed to node ${m.to} but this is node ${this.localId}`);
    this.incoming = null;
    const { maxSnapshotBytes } = this.limits;
    if (begin.totalBytes > maxSnapshotBytes) {
      return this.refuse(begin.transferId, 0,
        `Cannot accept a snapshot of ${begin.totalBytes} bytes from node ${this.peerId}: over this node's limit maxSnapshotBytes of ${maxSnapshotBytes} bytes; raise the transport limit maxSnapshotBytes on node ${this.localId}`);
    }
    let data: Buffer;
    try {
      data = Buffer.allocUnsafeSlow(begin.totalBytes);
    } catch (err) {
      return this.refuse(begin.transferId, 0, `Cannot accept a snapshot of ${begin.totalBytes} bytes from node ${this.peerId}: out of memory (${(err as Error).message})`);
    }
    this.incoming = { transferId: begin.transferId, header: m, data, receivedBytes: 0, crc: 0 };
    return begin.totalBytes === 0 ? NOTHING : { ack: this.ack(begin.transferId, 0, "receiving"), message: null, refusal: null };
  }

  /** A chunk frame. */
  chunk(body: Buffer): SnapshotFrameResult {
    const chunk = decodeSnapshotChunk(body);
    const t = this.incoming;
    // Chunks of a transfer this side refused or discarded may still be in flight: ignore them.
    if (t === null || chunk.transferId !== t.transferId) return NOTHING;
    if (chunk.offset !== t.receivedBytes) {
      return this.refuse(t.transferId, t.receivedBytes,
        `Cannot accept snapshot chunk at byte ${chunk.offset} from node ${this.peerId}: expected byte ${t.receivedBytes} (chunks out of order or repeated)`);
    }
    if (chunk.data.length === 0 || t.receivedBytes + chunk.data.length > t.data.length) {
      return this.refuse(t.transferId, t.receivedBytes,
        `Cannot accept snapshot chunk of ${chunk.data.length} bytes at byte ${chunk.offset} from node ${this.peerId}: the snapshot was announced as ${t.data.length} bytes`);
    }
    t.data.set(chunk.data, t.receivedBytes);
    t.crc = crc32(chunk.data, t.crc);
    t.receivedBytes += chunk.data.length;
    return { ack: this.ack(t.transferId, t.receivedBytes, "receiving"), message: null, refusal: null };
  }

  /** An end frame: delivers the snapshot when it is whole and its checksum matches. */
  end(body: Buffer): SnapshotFrameResult {
    const end = decodeSnapshotEnd(body);
    const t = this.incoming;
    if (t === null || end.transferId !== t.transferId) return NOTHING;
    if (end.totalBytes !== t.data.length || t.receivedBytes !== t.data.length) {
      return this.refuse(t.transferId, t.receivedBytes,
        `Cannot accept snapshot from node ${this.peerId}: received ${t.receivedBytes} of ${t.data.length} announced bytes, end frame says ${end.totalBytes}`);
    }
    if (end.crc32 !== t.crc) {
      return this.refuse(t.transferId, t.receivedBytes,
        `Cannot accept snapshot from node ${this.peerId}: CRC-32 of the ${t.receivedBytes} bytes received is ${t.crc}, the sender's is ${end.crc32}`);
    }
    this.incoming = null;
    const header = t.header;
    // A plain Uint8Array over the buffer, as the codec hands out (see codec.ts Reader.bytes).
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const message: SnapshotMessage = { ...header, snapshot: { meta: header.snapshot.meta, data } };
    return { ack: this.ack(t.transferId, t.receivedBytes, "delivered"), message, refusal: null };
  }

  /** Drops the transfer under way (stalled or connection closed); returns the ack telling the sender, or null. */
  discard(reason: string): Buffer | null {
    const t = this.incoming;
    if (t === null) return null;
    this.incoming = null;
    return encodeSnapshotAck({ transferId: t.transferId, receivedBytes: t.receivedBytes, status: "refused", reason });
  }

  private refuse(transferId: number, receivedBytes: number, reason: string): SnapshotFrameResult {
    this.incoming = null;
    return { ack: encodeSnapshotAck({ transferId, receivedBytes, status: "refused", reason }), message: null, refusal: reason };
  }

  private ack(transferId: number, receivedBytes: number, status: SnapshotAckStatus): Buffer {
    return encodeSnapshotAck({ transferId, receivedBytes, status, reason: "" });
  }
}
