// An in-process transport for tests of the server: same contract as TlsTransport (the conformance
// suite runs against both), no sockets. Messages go through the real codec by default, so a test
// cannot pass by sharing objects between nodes, and the frame bounds apply as on the wire.
// Links can be cut to simulate partitions.
import type { Message, NodeId } from "../raft/types.js";
import { decodeMessage, encodedFrameBytes, encodeMessages, MESSAGE_KINDS } from "./codec.js";
import { FRAME_HEADER_BYTES } from "./frame.js";
import { transportLimits, type TransportLimits } from "./limits.js";
import { SendQueue } from "./send-queue.js";
import type { MessageHandler, PeerStats, Transport, TransportStats } from "./types.js";

/** Options of MemoryNetwork.createTransport. */
export interface MemoryTransportOptions {
  readonly limits?: Partial<TransportLimits>;
  /** Pass messages through encode/decode (default true). */
  readonly useCodec?: boolean;
}

/** A set of in-memory transports that can reach each other by address "memory://<id>". */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, MemoryTransport>();
  private readonly cut = new Set<string>();

  /** Makes the transport of node `id`, reachable at `memory://<id>`. */
  createTransport(id: NodeId, options: MemoryTransportOptions = {}): MemoryTransport {
    const address = `memory://${id}`;
    const existing = this.endpoints.get(address);
    if (existing !== undefined && !existing.isClosed) throw new Error(`Cannot create transport for node ${id}: ${address} is in use`);
    const transport = new MemoryTransport(this, id, address, options);
    this.endpoints.set(address, transport);
    return transport;
  }

  /** Cuts (enabled=false) or restores the one-way link from `from` to `to`. */
  setLink(from: NodeId, to: NodeId, enabled: boolean): void {
    const key = `${from}>${to}`;
    if (enabled) this.cut.delete(key);
    else this.cut.add(key);
  }

  /** The open transport at `address`, or null. */
  lookup(address: string): MemoryTransport | null {
    const t = this.endpoints.get(address);
    return t === undefined || t.isClosed ? null : t;
  }

  /** True when the link from `from` to `to` is cut. */
  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }
}

interface MemoryLink {
  readonly address: string;
  readonly queue: SendQueue;
  sent: number;
  dropped: number;
}

/** One node's in-memory transport. */
export class MemoryTransport implements Transport {
  private readonly limits: TransportLimits;
  private readonly useCodec: boolean;
  private readonly links = new Map<NodeId, MemoryLink>();
  private handler: MessageHandler = () => undefined;
  private deliveryScheduled = false;
  private receivedMessages = 0;
  private droppedMessages = 0;
  private closed = false;

  constructor(private readonly network: MemoryNetwork, readonly id: NodeId, readonly address: string, options: MemoryTransportOptions) {
    this.limits = transportLimits(options.limits);
    this.useCodec = options.useCodec ?? true;
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.from !== this.id) throw new Error(`Cannot send a message from node ${m.from} through the transport of node ${this.id}`);
      const link = this.links.get(m.to);
      const size = encodedFrameBytes(m);
      // Like the TLS transport: a snapshot is bounded by its data size (it would stream in chunks),
      // every other message by the frame bound. Snapshots pass here whole, in send order.
      const tooLarge = m.type === "snapshot" ? m.snapshot.data.length > this.limits.maxSnapshotBytes : size - 4 > this.limits.maxFrameBytes;
      if (this.closed || link === undefined || tooLarge || !link.queue.offer(m, size)) {
        this.droppedMessages++;
        if (link !== undefined) link.dropped++;
        continue;
      }
    }
    this.scheduleDelivery();
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  addPeer(id: NodeId, address: string): void {
    if (this.closed) return;
    if (id === this.id) throw new Error(`Cannot add peer ${id}: it is this node`);
    const existing = this.links.get(id);
    if (existing !== undefined && existing.address === address) return;
    if (existing !== undefined) this.droppedMessages += existing.queue.clear();
    this.links.set(id, { address, queue: new SendQueue(this.limits), sent: 0, dropped: 0 });
  }

  removePeer(id: NodeId): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.droppedMessages += link.queue.clear();
    this.links.delete(id);
  }

  stats(): TransportStats {
    const peers: PeerStats[] = [];
    for (const [id, link] of this.links) {
      const target = this.network.lookup(link.address);
      peers.push({
        id,
        address: link.address,
        connected: target !== null && target.id === id && !this.network.isCut(this.id, id),
        queuedMessages: link.queue.length,
        queuedBytes: link.queue.queuedBytes,
        sentMessages: link.sent,
        droppedMessages: link.dropped,
        connects: 0,
      });
    }
    return { receivedMessages: this.receivedMessages, droppedMessages: this.droppedMessages, peers };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.links.keys()]) this.removePeer(id);
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled || this.closed) return;
    this.deliveryScheduled = true;
    setImmediate(() => this.deliver());
  }

  /** Moves every queued message to its destination, like one socket flush per peer. */
  private deliver(): void {
    this.deliveryScheduled = false;
    for (const [id, link] of this.links) {
      if (link.queue.length === 0) continue;
      const { messages } = link.queue.take(Number.MAX_SAFE_INTEGER);
      const target = this.network.lookup(link.address);
      // Like a refused TLS connection: the wrong node at that address, or a cut link, gets nothing.
      if (target === null || target.id !== id || this.network.isCut(this.id, id)) {
        link.dropped += messages.length;
        this.droppedMessages += messages.length;
        continue;
      }
      link.sent += messages.length;
      for (const m of messages) target.receive(this.useCodec ? roundTrip(m) : m);
    }
  }

  /** Called by a peer's transport to hand over one message. */
  receive(m: Message): void {
    if (this.closed) return;
    this.receivedMessages++;
    this.handler(m);
  }
}

function roundTrip(m: Message): Message {
  const frame = encodeMessages([m]);
  return decodeMessage(MESSAGE_KINDS[m.type], frame.subarray(FRAME_HEADER_BYTES));
}
