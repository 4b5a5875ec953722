// Writes made while the event loop handles one batch of socket events are held back and go out
// together in the check phase that follows, in order. Why: on loopback and on a LAN every write
// that finds its reader asleep pays for a wake-up; writing each response the moment it is ready
// spaces the writes by our own processing time, so the reader (a client, a backend) has gone back
// to sleep before the next one. Writing them in one burst, as HAProxy's and nginx's event loops
// do, wakes each reader once per burst: ~4 µs less kernel time per small request on the proxy
// benchmark. The queue is our own rather than socket.cork(): Node's buffered-write path cost
// another ~1.5 µs per request. A flush onto a socket with nothing pending goes straight to its
// handle (raw-write.ts), which saves Node's per-write bookkeeping.
import { Buffer } from "node:buffer";
import type net from "node:net";
import { canWriteRaw, RAW_QUEUED, writeRaw } from "./raw-write.js";

/**
 * Writes up to this size are the ones worth batching (and, when they come from a reused read
 * buffer, copying: Node's pooled slab serves allocations below 4 KiB).
 */
export const BATCH_BYTES_MAX = 4096;

let pending: BatchedWriter[] = [];
let spare: BatchedWriter[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const batch = pending;
  pending = spare;
  for (let i = 0; i < batch.length; i++) {
    const writer = batch[i]!;
    writer.inBatch = false;
    writer.flush();
  }
  batch.length = 0;
  spare = batch;
}

/** The write side of one socket: queued writes for this turn, or writes at once after them. */
export class BatchedWriter {
  readonly socket: net.Socket;
  /** Registered for the coming flush (set and cleared by this module only). */
  inBatch = false;
  private first: Buffer | null = null;
  private rest: Buffer[] | null = null;
  /** A raw write the kernel did not take whole is still queued in libuv (at most one). */
  private rawPending = false;
  /**
   * Called when a flush left the socket over its high-water mark, or left a raw write waiting in
   * libuv; 'drain' follows either way.
   */
  private readonly onFull: () => void;
  private readonly onRawSettled = (): void => {
    this.rawPending = false;
    // The Writable emits its own 'drain' when it is over its mark; otherwise nobody would.
    if (!this.socket.destroyed && !this.socket.writableNeedDrain) this.socket.emit("drain");
  };

  constructor(socket: net.Socket, onFull: () => void) {
    this.socket = socket;
    this.onFull = onFull;
  }

  /**
   * True while the socket's peer is not keeping up: bytes wait in the Writable over its mark, or
   * a raw write waits in libuv. 'drain' follows.
   */
  get needsDrain(): boolean {
    return this.rawPending || this.socket.writableNeedDrain;
  }

  /**
   * Queues `data` until the end of this turn of the event loop. Nothing else may point into it
   * and change it before then. Backpressure is reported through onFull when it goes out.
   */
  queue(data: Buffer): void {
    if (this.first === null) this.first = data;
    else (this.rest ??= []).push(data);
    if (!this.inBatch) {
      this.inBatch = true;
      pending.push(this);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  /**
   * A buffer of our own: small ones are queued for the batch, larger ones written at once.
   * Returns false when the socket is over its high-water mark ('drain' follows).
   */
  write(data: Buffer): boolean {
    if (data.length > BATCH_BYTES_MAX) return this.writeNow(data);
    this.queue(data);
    return true;
  }

  /** Writes at once, after anything queued; returns socket.write's verdict. */
  writeNow(data: Buffer): boolean {
    if (this.first !== null) this.flush();
    if (this.socket.destroyed) return true;
    return this.socket.write(data);
  }

  /** Sends what is queued, then half-closes. */
  end(): void {
    this.flush();
    this.socket.end();
  }

  /** Sends what is queued now. A destroyed socket drops it: destroy() means the bytes are moot. */
  flush(): void {
    const first = this.first;
    if (first === null) return;
    const rest = this.rest;
    this.first = null;
    this.rest = null;
    const socket = this.socket;
    if (socket.destroyed) return;
    const data = rest === null ? first : Buffer.concat([first, ...rest]);
    if (!this.rawPending && canWriteRaw(socket)) {
      // A kernel buffer too full to take a small write whole is backpressure at once: the
      // producer pauses until libuv has written the rest ('drain').
      if (writeRaw(socket, data, this.onRawSettled) === RAW_QUEUED) {
        this.rawPending = true;
        this.onFull();
      }
      return;
    }
    if (!socket.write(data)) this.onFull();
  }
}
