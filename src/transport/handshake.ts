// Connection opening. The dialer sends a hello (version, from, to) right after TLS; the acceptor
// checks it against the certificate and answers with a hello-ack. The dialer sends no message
// before the ack, so a connection the acceptor refuses never silently swallows messages.
import type { NodeId } from "../raft/types.js";
import { KIND_HELLO, KIND_HELLO_ACK, KIND_REFUSE, messageTypeOfKind, PROTOCOL_VERSION } from "./codec.js";
import { FRAME_HEADER_BYTES, writeFrameHeader, type FrameBound } from "./frame.js";
import type { TransportLimits } from "./limits.js";
import {
  KIND_SNAPSHOT_ACK, KIND_SNAPSHOT_BEGIN, KIND_SNAPSHOT_CHUNK, KIND_SNAPSHOT_END, SNAPSHOT_ACK_FRAME_BOUND, SNAPSHOT_END_FRAME_BOUND,
} from "./snapshot-frames.js";
import { CLOCK_FRAME_BOUND, FEATURE_CLOCK_PROBES, KIND_CLOCK_ECHO, KIND_CLOCK_PROBE } from "./clock.js";

/** What a hello says: who is speaking to whom. */
export interface Hello {
  readonly version: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

const HELLO_BODY_BYTES = 2 + 8 + 8;
/** Version, then a feature byte (a dialer of protocol 2 reads only the kind, so the byte is compatible). */
const ACK_BODY_BYTES = 3;
/** Largest control frame (kind + body). */
const CONTROL_FRAME_BOUND = 64;
/** Largest refusal frame: a reason for a person to read. */
const REFUSE_FRAME_BOUND = 1024;

/** The hello frame from `from` to `to`. */
export function encodeHello(from: NodeId, to: NodeId): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_BYTES + HELLO_BODY_BYTES);
  writeFrameHeader(buf, 0, KIND_HELLO, HELLO_BODY_BYTES);
  buf.writeUInt16BE(PROTOCOL_VERSION, 5);
  buf.writeUInt32BE(Math.floor(from / 2 ** 32), 7);
  buf.writeUInt32BE(from >>> 0, 11);
  buf.writeUInt32BE(Math.floor(to / 2 ** 32), 15);
  buf.writeUInt32BE(to >>> 0, 19);
  return buf;
}

/** Decodes a hello body; null when malformed. */
export function decodeHello(body: Buffer): Hello | null {
  if (body.length !== HELLO_BODY_BYTES) return null;
  const version = body.readUInt16BE(0);
  const from = body.readUInt32BE(2) * 2 ** 32 + body.readUInt32BE(6);
  const to = body.readUInt32BE(10) * 2 ** 32 + body.readUInt32BE(14);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return null;
  return { version, from: from as NodeId, to: to as NodeId };
}

/** The hello-ack frame; its feature byte says this acceptor answers clock probes. */
export function encodeHelloAck(): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_BYTES + ACK_BODY_BYTES);
  writeFrameHeader(buf, 0, KIND_HELLO_ACK, ACK_BODY_BYTES);
  buf.writeUInt16BE(PROTOCOL_VERSION, 5);
  buf[7] = FEATURE_CLOCK_PROBES;
  return buf;
}

/** Whether a hello-ack body announces clock probes (an acceptor without the feature byte does not). */
export function ackAnswersClockProbes(body: Buffer): boolean {
  return body.length >= 3 && (body[2]! & FEATURE_CLOCK_PROBES) !== 0;
}

/** The refusal frame carrying `reason` (cut to the refusal bound). */
export function encodeRefusal(reason: string): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, REFUSE_FRAME_BOUND - 1);
  const buf = Buffer.alloc(FRAME_HEADER_BYTES + text.length);
  writeFrameHeader(buf, 0, KIND_REFUSE, text.length);
  text.copy(buf, FRAME_HEADER_BYTES);
  return buf;
}

/**
 * Frame size bounds by kind, from the limits. Every message frame, a snapshot chunk included, is
 * bounded by maxFrameBytes: snapshots of any size travel as chunks (snapshot-frames.ts).
 */
export function frameBoundOf(limits: TransportLimits): FrameBound {
  return (kind) => {
    switch (kind) {
      case KIND_HELLO:
      case KIND_HELLO_ACK: return CONTROL_FRAME_BOUND;
      case KIND_REFUSE: return REFUSE_FRAME_BOUND;
      case KIND_SNAPSHOT_BEGIN:
      case KIND_SNAPSHOT_CHUNK: return limits.maxFrameBytes;
      case KIND_SNAPSHOT_END: return SNAPSHOT_END_FRAME_BOUND;
      case KIND_SNAPSHOT_ACK: return SNAPSHOT_ACK_FRAME_BOUND;
      case KIND_CLOCK_PROBE:
      case KIND_CLOCK_ECHO: return CLOCK_FRAME_BOUND;
      default: return messageTypeOfKind(kind) === null ? null : limits.maxFrameBytes;
    }
  };
}
