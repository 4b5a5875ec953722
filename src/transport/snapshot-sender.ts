// The sending side of streamed snapshots for one peer link: one transfer at a time (and one more
// snapshot waiting for its turn), cut
// into chunks of snapshotChunkBytes, with at most snapshotWindowBytes sent and not yet acknowledged
// (so memory, socket buffers and the other traffic of the link stay unharmed by a large snapshot).
// The data is never copied as a whole: chunks are views of the snapshot Raft handed over.
//
// Raft resends a snapshot it has not heard back about every election timeout; a copy of the
// snapshot being sent (or waiting) is therefore dropped here (the transfer under way will answer
// for it), else a snapshot slower to send than an election timeout would restart forever. Another
// snapshot of the same term waits in one slot (a newer one replaces it) until the transfer ends,
// so a transfer is never cut short by the leader compacting meanwhile. A snapshot of a newer term
// replaces everything (the old ones would be refused as stale). A broken connection restarts
// the transfer from byte 0 on the next connection (the receiver discarded its part), up to
// snapshotRestartsMax times; after that, or on a refusal or a stall, the transfer is abandoned and
// Raft's own retry takes over. No timers here: the link calls in with events.
import { crc32 } from "node:zlib";
import type { SnapshotMessage } from "../raft/types.js";
import type { TransportLimits } from "./limits.js";
import { encodeSnapshotBegin, encodeSnapshotChunk, encodeSnapshotEnd, type SnapshotAck } from "./snapshot-frames.js";

/** Bounds a SnapshotSender uses. */
export type SnapshotSenderLimits = Pick<TransportLimits, "maxSnapshotBytes" | "snapshotChunkBytes" | "snapshotWindowBytes" | "snapshotRestartsMax">;

/** What became of an offered snapshot, and how many snapshots accepted earlier it displaced (dropped). */
export interface SnapshotOfferResult {
  readonly outcome:
    | "started" // it is now the transfer
    | "waiting" // it waits for the transfer under way to end
    | "duplicate" // the same snapshot is being sent or waits already; this copy is dropped
    | "too_large"; // over maxSnapshotBytes; dropped
  readonly displaced: number;
}

/** What an ack did to the transfer. */
export type SnapshotAckOutcome =
  | { readonly kind: "progress" }
  | { readonly kind: "delivered"; readonly message: SnapshotMessage }
  | { readonly kind: "refused"; readonly message: SnapshotMessage; readonly reason: string }
  | { readonly kind: "ignored" };

/** What a lost connection did to the transfer. */
export type SnapshotLossOutcome = "idle" | "restarting" | "abandoned";

type Phase = "waiting" | "begin" | "chunks" | "end" | "awaiting_delivery";

interface Transfer {
  readonly message: SnapshotMessage;
  restarts: number;
  phase: Phase;
  transferId: number;
  sentBytes: number;
  ackedBytes: number;
  crc: number;
}

/** One peer's outgoing snapshot transfer. */
export class SnapshotSender {
  private transfer: Transfer | null = null;
  private waiting: SnapshotMessage | null = null;
  private nextTransferId = 1;
  private connected = false;

  constructor(private readonly limits: SnapshotSenderLimits) {}

  /** True while a snapshot is being (or waits to be) sent. */
  get active(): boolean {
    return this.transfer !== null;
  }

  /** Snapshots held: the transfer and the one waiting (0 to 2). */
  get heldSnapshots(): number {
    return (this.transfer === null ? 0 : 1) + (this.waiting === null ? 0 : 1);
  }

  /** Data bytes of the current transfer acknowledged by the receiver (0 when idle). */
  get ackedBytes(): number {
    return this.transfer?.ackedBytes ?? 0;
  }

  /** Takes `m` as the transfer, unless one is under way (see the file comment). */
  offer(m: SnapshotMessage): SnapshotOfferResult {
    if (m.snapshot.data.length > this.limits.maxSnapshotBytes) return { outcome: "too_large", displaced: 0 };
    const current = this.transfer;
    if (current !== null && m.term <= current.message.term) {
      if (sameSnapshot(current.message, m) || (this.waiting !== null && sameSnapshot(this.waiting, m))) return { outcome: "duplicate", displaced: 0 };
      const displaced = this.waiting === null ? 0 : 1;
      this.waiting = m;
      return { outcome: "waiting", displaced };
    }
    const displaced = this.heldSnapshots;
    this.waiting = null;
    this.start(m);
    return { outcome: "started", displaced };
  }

  /** The connection is open: the transfer (if any) starts from byte 0 under a new id. */
  onConnectionOpen(): void {
    this.connected = true;
    if (this.transfer !== null) this.begin(this.transfer);
  }

  /** The connection broke: the receiver discarded its part; restart later or give up. */
  onConnectionLost(): SnapshotLossOutcome {
    this.connected = false;
    const t = this.transfer;
    if (t === null) return "idle";
    t.phase = "waiting";
    if (t.restarts >= this.limits.snapshotRestartsMax) {
      this.finish();
      return "abandoned";
    }
    t.restarts++;
    return "restarting";
  }

  /** The next frame to write, or null when there is nothing to send or the window is full. */
  nextFrame(): Buffer | null {
    const t = this.transfer;
    if (t === null) return null;
    const data = t.message.snapshot.data;
    switch (t.phase) {
      case "waiting":
      case "awaiting_delivery":
        return null;
      case "begin":
        t.phase = data.length === 0 ? "end" : "chunks";
        return encodeSnapshotBegin(t.transferId, t.message);
      case "chunks": {
        if (t.sentBytes - t.ackedBytes + Math.min(this.limits.snapshotChunkBytes, data.length - t.sentBytes) > this.limits.snapshotWindowBytes) return null;
        const chunk = data.subarray(t.sentBytes, t.sentBytes + this.limits.snapshotChunkBytes);
        const frame = encodeSnapshotChunk(t.transferId, t.sentBytes, chunk);
        // The checksum is built chunk by chunk: one pass over 80 MiB at once would stall the loop.
        t.crc = crc32(chunk, t.crc);
        t.sentBytes += chunk.length;
        if (t.sentBytes === data.length) t.phase = "end";
        return frame;
      }
      case "end":
        t.phase = "awaiting_delivery";
        return encodeSnapshotEnd({ transferId: t.transferId, totalBytes: data.length, crc32: t.crc });
    }
  }

  /** Applies the receiver's ack. */
  onAck(ack: SnapshotAck): SnapshotAckOutcome {
    const t = this.transfer;
    // Acks of an abandoned or replaced transfer may still be on the way.
    if (t === null || ack.transferId !== t.transferId || t.phase === "waiting") return { kind: "ignored" };
    switch (ack.status) {
      case "receiving":
        if (ack.receivedBytes > t.ackedBytes && ack.receivedBytes <= t.sentBytes) t.ackedBytes = ack.receivedBytes;
        return { kind: "progress" };
      case "delivered":
        this.finish();
        return { kind: "delivered", message: t.message };
      case "refused":
        this.finish();
        return { kind: "refused", message: t.message, reason: ack.reason };
    }
  }

  /** Gives up on the transfer (stalled); the waiting snapshot, if any, is next. Returns it, or null when idle. */
  abandon(): SnapshotMessage | null {
    const t = this.transfer;
    if (t === null) return null;
    this.finish();
    return t.message;
  }

  /** Drops every snapshot held; returns how many. */
  clear(): number {
    const n = this.heldSnapshots;
    this.transfer = null;
    this.waiting = null;
    return n;
  }

  /** Ends the transfer; the waiting snapshot becomes the next one. */
  private finish(): void {
    this.transfer = null;
    const next = this.waiting;
    this.waiting = null;
    if (next !== null) this.start(next);
  }

  private start(m: SnapshotMessage): void {
    this.transfer = { message: m, restarts: 0, phase: "waiting", transferId: 0, sentBytes: 0, ackedBytes: 0, crc: 0 };
    if (this.connected) this.begin(this.transfer);
  }

  private begin(t: Transfer): void {
    t.transferId = this.nextTransferId++;
    t.phase = "begin";
    t.sentBytes = 0;
    t.ackedBytes = 0;
    t.crc = 0;
  }
}

function sameSnapshot(a: SnapshotMessage, b: SnapshotMessage): boolean {
  const x = a.snapshot.meta;
  const y = b.snapshot.meta;
  return a.term === b.term && x.index === y.index && x.term === y.term;
}
