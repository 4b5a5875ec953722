// The simulator's agenda: a binary min-heap of events ordered by virtual time, ties broken by
// insertion order so a schedule is a pure function of its seed.

/** Upper bound on queued events; a schedule that exceeds it has a runaway feedback loop. */
export const MAX_QUEUED_EVENTS = 200_000;

interface Slot<E> {
  readonly timeUs: number;
  readonly seq: number;
  readonly event: E;
}

/** A priority queue of events keyed by virtual time in microseconds. */
export class EventQueue<E> {
  private readonly heap: Slot<E>[] = [];
  private seq = 0;

  /** Number of queued events. */
  get size(): number {
    return this.heap.length;
  }

  /** Queues `event` to happen at `timeUs`. */
  push(timeUs: number, event: E): void {
    if (this.heap.length >= MAX_QUEUED_EVENTS) {
      throw new Error(`Cannot queue event at ${timeUs}us: ${MAX_QUEUED_EVENTS} events are already queued`);
    }
    const heap = this.heap;
    const slot: Slot<E> = { timeUs, seq: this.seq++, event };
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Slot<E>;
      if (!before(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): { timeUs: number; event: E } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Slot<E>;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let child = l;
        if (r < n && before(heap[r] as Slot<E>, heap[l] as Slot<E>)) child = r;
        const c = heap[child] as Slot<E>;
        if (!before(c, last)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    return { timeUs: top.timeUs, event: top.event };
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTimeUs(): number {
    return this.heap[0]?.timeUs ?? Infinity;
  }
}

function before<E>(a: Slot<E>, b: Slot<E>): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.seq < b.seq);
}
