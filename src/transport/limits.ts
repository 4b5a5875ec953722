// Every bound of the transport, named and in one place. Defaults suit a LAN cluster whose Raft
// heartbeat is 50-100 ms and election timeout a few hundred ms.
import type { BackoffPolicy } from "./backoff.js";

/** Bounds of a transport; all have defaults (TRANSPORT_LIMITS_DEFAULT). */
export interface TransportLimits {
  /** Largest frame (kind + body) of any message but a snapshot. Raft's append batches must stay below. */
  readonly maxFrameBytes: number;
  /** Largest snapshot message frame. */
  readonly maxSnapshotFrameBytes: number;
  /** Messages queued per peer (not yet written to the socket); more are dropped and counted. */
  readonly maxQueueMessages: number;
  /** Bytes of non-snapshot messages queued per peer; more are dropped and counted. */
  readonly maxQueueBytes: number;
  /** Snapshot messages queued per peer, on top of maxQueueBytes; more are dropped and counted. */
  readonly maxQueuedSnapshots: number;
  /** Target bytes of one socket write (a batch of frames); one larger message is written alone. */
  readonly maxWriteBytes: number;
  /** Accepted peer connections at once; more are refused. */
  readonly maxInboundConnections: number;
  /** Time for a connection to complete TLS and the hello exchange. */
  readonly handshakeTimeoutMs: number;
  /** Delays between reconnection attempts to a peer. */
  readonly reconnect: BackoffPolicy;
}

const MiB = 1024 * 1024;

/** The default bounds. */
export const TRANSPORT_LIMITS_DEFAULT: TransportLimits = {
  maxFrameBytes: 8 * MiB,
  maxSnapshotFrameBytes: 64 * MiB,
  maxQueueMessages: 16_384,
  maxQueueBytes: 16 * MiB,
  maxQueuedSnapshots: 1,
  maxWriteBytes: 256 * 1024,
  maxInboundConnections: 128,
  handshakeTimeoutMs: 5000,
  reconnect: { initialDelayMs: 50, maxDelayMs: 1000, multiplier: 2, jitterRatio: 0.5 },
};

/** Defaults overridden by `overrides`. */
export function transportLimits(overrides: Partial<TransportLimits> = {}): TransportLimits {
  const limits = { ...TRANSPORT_LIMITS_DEFAULT, ...overrides };
  if (limits.maxFrameBytes > limits.maxSnapshotFrameBytes) {
    throw new Error(`Invalid transport limits: maxFrameBytes ${limits.maxFrameBytes} exceeds maxSnapshotFrameBytes ${limits.maxSnapshotFrameBytes}`);
  }
  return limits;
}
