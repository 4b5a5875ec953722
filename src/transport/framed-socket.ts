// Generic framing over any stream socket (TLS or plain TCP), for the peer transport and for any
// other protocol of Phalanx that wants the same length-prefixed frames with per-kind size bounds
// (the server's client API may reuse it). Reading is event-driven: frames are handed over in
// order as they complete; a violation stops reading and is reported once.
import type { Duplex } from "node:stream";
import { FRAME_HEADER_BYTES, FrameParser, writeFrameHeader, type Frame, type FrameBound, type FrameViolation } from "./frame.js";

/** Callbacks of readFrames. */
export interface FrameReaderOptions {
  readonly bound: FrameBound;
  /** Called for each complete frame, in order. Return false to stop reading (the caller closes). */
  readonly onFrame: (frame: Frame) => boolean | void;
  /** Called once when the peer sends a frame the bounds refuse; the caller should close. */
  readonly onViolation: (violation: FrameViolation) => void;
}

/** Reads frames from `socket` until it closes, a violation, or onFrame returns false. */
export function readFrames(socket: Duplex, options: FrameReaderOptions): void {
  const parser = new FrameParser(options.bound);
  let stopped = false;
  const onData = (chunk: Buffer): void => {
    if (stopped) return;
    const { frames, violation } = parser.push(chunk);
    for (const frame of frames) {
      if (options.onFrame(frame) === false) {
        stopped = true;
        socket.off("data", onData);
        return;
      }
    }
    if (violation !== null) {
      stopped = true;
      socket.off("data", onData);
      options.onViolation(violation);
    }
  };
  socket.on("data", onData);
}

/** One frame of `kind` carrying `body`. */
export function encodeFrame(kind: number, body: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  writeFrameHeader(buf, 0, kind, body.length);
  buf.set(body, FRAME_HEADER_BYTES);
  return buf;
}
