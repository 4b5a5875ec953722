// Writes made while the event loop handles one batch of socket events are held back (the socket
// is corked) and go out together in the check phase that follows, in order and with the usual
// backpressure signals. Why: on loopback and on a LAN every write that finds its reader asleep
// pays for a wake-up; writing each response the moment it is ready spaces the writes by our own
// processing time, so the reader (wrk, a backend) has gone back to sleep before the next one.
// Writing them in one burst, as HAProxy's and nginx's event loops do, wakes each reader once per
// burst. Measured on the proxy benchmark: about 4 µs of kernel time less per request.

/** Something that owns a socket and remembers whether it is corked in the current batch. */
export interface BatchedWriter {
  readonly socket: { cork(): void; uncork(): void };
  /** True while the socket is corked by the batch (set and cleared here only). */
  writesBatched: boolean;
}

let pending: BatchedWriter[] = [];
let spare: BatchedWriter[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  const batch = pending;
  pending = spare;
  for (let i = 0; i < batch.length; i++) {
    const writer = batch[i]!;
    writer.writesBatched = false;
    // Uncorking a destroyed socket is a no-op; end() uncorks by itself.
    writer.socket.uncork();
  }
  batch.length = 0;
  spare = batch;
}

/**
 * Corks `writer.socket` until the end of this turn of the event loop (once per turn). Call it
 * before a write that may wait for the others of the batch. Never for a socket that is about to
 * be destroyed: destroy() drops what is corked (end() does not).
 */
export function batchWrites(writer: BatchedWriter): void {
  if (writer.writesBatched) return;
  writer.writesBatched = true;
  writer.socket.cork();
  pending.push(writer);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
