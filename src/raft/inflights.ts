// Flow control for pipelined appends (etcd-io/raft tracker/inflights.go): the last index of each
// append message sent but not yet acknowledged, up to a fixed capacity.
import type { LogIndex } from "./types.js";
import { assert } from "./assert.js";

/** A bounded FIFO of the last indexes of unacknowledged append messages to one follower. */
export class Inflights {
  private readonly buffer: LogIndex[] = [];

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, `Cannot track in-flight appends: capacity ${capacity} must be positive`);
  }

  /** Records an append whose last entry is `index`. */
  add(index: LogIndex): void {
    assert(!this.full(), `Cannot add in-flight append ${index}: ${this.capacity} already in flight`);
    const last = this.buffer[this.buffer.length - 1];
    assert(last === undefined || index > last, `Cannot add in-flight append ${index}: not after ${String(last)}`);
    this.buffer.push(index);
  }

  /** Frees every append acknowledged by a match at `index`. */
  freeLE(index: LogIndex): void {
    let n = 0;
    while (n < this.buffer.length && (this.buffer[n] as LogIndex) <= index) n++;
    if (n > 0) this.buffer.splice(0, n);
  }

  /** Frees the oldest append (a heartbeat response proves the follower is alive). */
  freeFirstOne(): void {
    this.buffer.shift();
  }

  /** True when no further append may be sent. */
  full(): boolean {
    return this.buffer.length >= this.capacity;
  }

  /** Number of appends in flight. */
  count(): number {
    return this.buffer.length;
  }

  /** Forgets every append in flight. */
  reset(): void {
    this.buffer.length = 0;
  }
}
