// Every bound of the transport, named and in one place. Defaults suit a LAN cluster whose Raft
// heartbeat is 50-100 ms and election timeout a few hundred ms.
import { constants as bufferConstants } from "node:buffer";
import type { BackoffPolicy } from "./backoff.js";
import { SNAPSHOT_CHUNK_HEADER_BYTES } from "./snapshot-frames.js";

/** Bounds of a transport; all have defaults (TRANSPORT_LIMITS_DEFAULT). */
export interface TransportLimits {
  /** Largest frame (kind + body) of any message but a snapshot. Raft's append batches must stay below. */
  readonly maxFrameBytes: number;
  /**
   * Largest snapshot (its data) this node sends or accepts. A snapshot travels in chunks, but the
   * receiver holds the whole of it in memory before Raft takes it, so this bounds that memory per
   * peer. At most the largest Buffer the runtime allows (4 GiB on Node 20).
   */
  readonly maxSnapshotBytes: number;
  /** Data bytes per snapshot chunk frame (the chunk frame must fit maxFrameBytes). */
  readonly snapshotChunkBytes: number;
  /** Snapshot bytes sent but not yet acknowledged by the receiver (the flow-control window). */
  readonly snapshotWindowBytes: number;
  /** A transfer with no progress for this long is abandoned (sender) or discarded (receiver). */
  readonly snapshotStallTimeoutMs: number;
  /** Times a transfer restarts from byte 0 on a new connection after its connection broke. */
  readonly snapshotRestartsMax: number;
  /** Messages queued per peer (not yet written to the socket); more are dropped and counted. */
  readonly maxQueueMessages: number;
  /** Bytes of non-snapshot messages queued per peer; more are dropped and counted. */
  readonly maxQueueBytes: number;
  /** Snapshot messages queued per peer of the in-memory transport, on top of maxQueueBytes. */
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
  maxSnapshotBytes: Math.min(8 * 1024 * MiB, bufferConstants.MAX_LENGTH),
  snapshotChunkBytes: MiB,
  snapshotWindowBytes: 4 * MiB,
  snapshotStallTimeoutMs: 15_000,
  snapshotRestartsMax: 3,
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
  // A smaller frame bound alone (tests do this) shrinks the default chunk to fit it.
  if (overrides.snapshotChunkBytes === undefined) {
    limits.snapshotChunkBytes = Math.min(limits.snapshotChunkBytes, limits.maxFrameBytes - 1 - SNAPSHOT_CHUNK_HEADER_BYTES);
  }
  if (1 + SNAPSHOT_CHUNK_HEADER_BYTES + limits.snapshotChunkBytes > limits.maxFrameBytes) {
    throw new Error(`Invalid transport limits: snapshotChunkBytes ${limits.snapshotChunkBytes} does not fit in a frame of maxFrameBytes ${limits.maxFrameBytes}`);
  }
  if (limits.snapshotChunkBytes < 1 || limits.snapshotWindowBytes < limits.snapshotChunkBytes) {
    throw new Error(`Invalid transport limits: snapshotWindowBytes ${limits.snapshotWindowBytes} must be at least snapshotChunkBytes ${limits.snapshotChunkBytes} (and that at least 1)`);
  }
  if (limits.maxSnapshotBytes > bufferConstants.MAX_LENGTH) {
    throw new Error(`Invalid transport limits: maxSnapshotBytes ${limits.maxSnapshotBytes} exceeds the largest Buffer this runtime allows (${bufferConstants.MAX_LENGTH} bytes)`);
  }
  return limits;
}
