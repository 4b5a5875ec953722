// The backend-to-client direction of a TCP connection, relayed straight from the backend socket's
// read callback (net.connect's `onread`): the kernel reads into a buffer this connection owns and
// the bytes are written to the client at once. This skips the per-chunk allocation and the stream
// machinery ('data' events, readable buffering) of socket.pipe; it measured 5–20 % less CPU per
// request than pipe in our A/B runs. Small reads are copied and written with the event loop's
// batch (write-batch.ts); larger ones are written at once from the buffer.
import { Buffer } from "node:buffer";
import type { OnReadOpts, Socket } from "node:net";
import { BATCH_BYTES_MAX, BatchedWriter } from "../write-batch.js";

/**
 * Read buffer each backend connection owns while it is open: 64 KiB per L4 connection (10,000
 * connections hold 640 MiB). In A/B runs 64 KiB reads took 15–35 % less CPU per 64 KiB response
 * than 32 KiB reads, and a buffer starting at 16 KiB and growing on full reads did worse than both.
 */
export const RELAY_BUFFER_BYTES = 64 * 1024;

/** Relays bytes read from a backend socket to one client socket, with backpressure. */
export class BackendRelay {
  private buffer = Buffer.allocUnsafe(RELAY_BUFFER_BYTES);
  private target: BatchedWriter | null = null;

  /** Pass to net.connect's `onread` option of the backend socket. */
  readonly onread: OnReadOpts = {
    buffer: () => this.buffer,
    callback: (bytes) => this.relay(bytes),
  };

  /**
   * Starts relaying from `source` (the backend socket built with `onread`) to `target`, the
   * client's writer (every write to the client goes through it, so order holds).
   */
  attach(source: Socket, target: BatchedWriter): void {
    this.target = target;
    // A full client buffer stops reading from the backend; the client's drain starts it again.
    target.socket.on("drain", () => source.resume());
    source.resume();
  }

  private relay(bytes: number): boolean {
    const writer = this.target;
    // Nothing reads before attach (it runs in the microtask after connect); stop if it ever did.
    if (writer === null || writer.socket.destroyed) return false;
    if (bytes <= BATCH_BYTES_MAX) {
      writer.queue(Buffer.from(this.buffer.subarray(0, bytes)));
      return true;
    }
    const target = writer.socket;
    const flushed = writer.writeNow(this.buffer.subarray(0, bytes));
    // If the write queued our bytes instead of handing them all to the kernel, the buffer belongs
    // to that write until it completes. When the client is full (flushed false) reading stops until
    // its drain, by which time the write is done and the buffer is free again; otherwise reading
    // goes on at once and needs a fresh buffer.
    if (flushed && target.writableLength > 0) this.buffer = Buffer.allocUnsafe(RELAY_BUFFER_BYTES);
    return flushed;
  }
}
