// The bounded outgoing queue of one peer link. Raft tolerates lost messages (it retransmits), so a
// full queue drops the new message rather than growing: memory stays bounded when a peer is slow,
// stalled or gone. Snapshots have their own slot count so one snapshot does not starve appends.
import type { Message } from "../raft/types.js";

/** Bounds of a SendQueue. */
export interface SendQueueLimits {
  readonly maxQueueMessages: number;
  readonly maxQueueBytes: number;
  readonly maxQueuedSnapshots: number;
}

/** Messages taken from the queue for one write, with their frame sizes. */
export interface SendBatch {
  readonly messages: Message[];
  readonly frameBytes: number[];
  readonly totalBytes: number;
}

/** FIFO of messages with their encoded frame sizes, bounded in count and bytes. */
export class SendQueue {
  private messages: Message[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private snapshots = 0;

  constructor(private readonly limits: SendQueueLimits) {}

  /** Messages waiting. */
  get length(): number {
    return this.messages.length - this.head;
  }
  /** Bytes of waiting non-snapshot frames. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Appends `m` unless a bound would be exceeded; false means the caller drops it. */
  offer(m: Message, frameBytes: number): boolean {
    if (this.length >= this.limits.maxQueueMessages) return false;
    if (m.type === "snapshot") {
      if (this.snapshots >= this.limits.maxQueuedSnapshots) return false;
      this.snapshots++;
    } else {
      if (this.bytes + frameBytes > this.limits.maxQueueBytes) return false;
      this.bytes += frameBytes;
    }
    this.messages.push(m);
    this.sizes.push(frameBytes);
    return true;
  }

  /** Takes messages from the head up to about `maxBytes` (at least one when not empty). */
  take(maxBytes: number): SendBatch {
    const messages: Message[] = [];
    const frameBytes: number[] = [];
    let totalBytes = 0;
    while (this.head < this.messages.length) {
      const size = this.sizes[this.head] as number;
      if (messages.length > 0 && totalBytes + size > maxBytes) break;
      const m = this.messages[this.head] as Message;
      if (m.type === "snapshot") this.snapshots--;
      else this.bytes -= size;
      messages.push(m);
      frameBytes.push(size);
      totalBytes += size;
      this.head++;
    }
    this.compact();
    return { messages, frameBytes, totalBytes };
  }

  /** Empties the queue; returns how many messages were discarded. */
  clear(): number {
    const n = this.length;
    this.messages = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
    this.snapshots = 0;
    return n;
  }

  private compact(): void {
    if (this.head === this.messages.length) {
      this.messages = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
