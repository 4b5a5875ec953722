// Moves bytes both ways between a client socket and a backend socket until both sides are done.
// Backpressure both ways: when one side's write buffer is full the other side stops reading, so a
// slow reader bounds the memory a connection holds (kernel buffers + a highWaterMark + one relay
// buffer). Half-close is relayed: a FIN from one side becomes end() on the other, and the opposite
// direction keeps flowing (both sockets are created with allowHalfOpen).
import type { Socket } from "node:net";
import { BatchedWriter } from "../write-batch.js";
import type { BackendRelay } from "./relay.js";

/** How a spliced connection ended, from the backend's point of view. */
export type SpliceEnd = "success" | "reset";

/**
 * Connects `client` and `upstream` (built with `relay.onread`) both ways and calls `onEnd` once,
 * after both sockets closed.
 * An abortive close (error or reset) of one side destroys the other with a reset, so the peer sees
 * the failure instead of a clean end of stream.
 */
export function spliceSockets(
  client: Socket, upstream: Socket, relay: BackendRelay, idleMs: number, onEnd: (end: SpliceEnd) => void,
): void {
  let upstreamFailed = false;
  let openSockets = 2;
  const closedOne = (): void => {
    openSockets -= 1;
    if (openSockets === 0) onEnd(upstreamFailed ? "reset" : "success");
  };

  upstream.on("error", () => {
    upstreamFailed = true;
  });
  upstream.once("close", (hadError) => {
    // A clean close means the backend's FIN was relayed already; the client finishes by itself.
    if (hadError || !upstream.readableEnded) abort(client);
    closedOne();
  });
  client.once("close", (hadError) => {
    if (hadError || !client.readableEnded) abort(upstream);
    // The backend may still be flushing our relayed data; bound how long it may take.
    else if (!upstream.destroyed) upstream.setTimeout(idleMs, () => upstream.destroy());
    closedOne();
  });

  // Client to backend: small chunks go with the event loop's write batch (write-batch.ts). 'data'
  // chunks are fresh buffers, so they may wait. A full backend buffer pauses the client.
  const toUpstream = new BatchedWriter(upstream, () => client.pause());
  upstream.on("drain", () => client.resume());
  client.on("data", (chunk: Buffer) => {
    if (!toUpstream.write(chunk)) client.pause();
  });
  client.once("end", () => toUpstream.end());
  // The client was paused until the backend connected (a 'data' listener alone does not resume it).
  client.resume();
  const toClient = new BatchedWriter(client, () => upstream.pause());
  upstream.once("end", () => toClient.end());
  relay.attach(upstream, toClient);
}

function abort(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy needs an open handle; a socket still connecting is just destroyed.
  if (socket.pending) socket.destroy();
  else socket.resetAndDestroy();
}
