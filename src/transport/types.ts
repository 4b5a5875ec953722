// The transport contract the server codes against. Two implementations pass the same conformance
// suite (conformance.ts): MemoryTransport for tests of the server, TlsTransport for real clusters.
import type { Message, NodeId } from "../raft/types.js";

/** Called once per received message, in the order the sender sent them. Must not block. */
export type MessageHandler = (message: Message) => void;

/** Counters of one peer link (outgoing side). */
export interface PeerStats {
  readonly id: NodeId;
  readonly address: string;
  readonly connected: boolean;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly sentMessages: number;
  readonly droppedMessages: number;
  readonly connects: number;
}

/** Counters of a transport; for metrics and tests. */
export interface TransportStats {
  readonly receivedMessages: number;
  /**
   * Every dropped outgoing message: queue full, unknown peer, oversized, after close; and snapshots
   * displaced by another, refused by the receiver or abandoned (stalled, connection broke too often).
   */
  readonly droppedMessages: number;
  readonly peers: readonly PeerStats[];
}

/**
 * Unreliable, ordered, authenticated delivery of Raft messages. "Unreliable": a message may be
 * dropped (counted) and Raft retransmits; "ordered": messages from one sender to one receiver over
 * one connection arrive in send order, never duplicated.
 */
export interface Transport {
  /** Queues messages for their `to` peers; never blocks or throws on a network condition. */
  send(messages: readonly Message[]): void;
  /** Sets the handler of received messages (replaces the previous one). */
  onMessage(handler: MessageHandler): void;
  /** Starts sending to `id` at `address` ("host:port" for TLS); replaces an earlier address. */
  addPeer(id: NodeId, address: string): void;
  /** Stops sending to `id` and drops its queue. */
  removePeer(id: NodeId): void;
  /** Counters for metrics and tests. */
  stats(): TransportStats;
  /** Closes every connection; later sends are dropped. Idempotent. */
  close(): Promise<void>;
}
