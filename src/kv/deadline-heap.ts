// A min-heap of (time, id, generation) used by the lease clock to find due leases without scanning
// them all. Entries are never updated in place: a new one is pushed and the old one goes stale
// (its generation no longer matches) and is dropped when it reaches the top or at a rebuild.

/** One scheduled time for one lease. */
export interface DeadlineEntry {
  readonly atMs: number;
  readonly id: number;
  readonly generation: number;
}

/** Min-heap ordered by atMs, then id (so ties break deterministically). */
export class DeadlineHeap {
  private items: DeadlineEntry[] = [];

  /** Entries held, stale ones included. */
  get size(): number {
    return this.items.length;
  }

  /** Drops every entry. */
  clear(): void {
    this.items = [];
  }

  /** Replaces the contents (O(n)). */
  rebuild(entries: DeadlineEntry[]): void {
    this.items = entries;
    for (let i = (entries.length >>> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** The earliest entry, if any. */
  peek(): DeadlineEntry | undefined {
    return this.items[0];
  }

  /** Adds an entry. */
  push(entry: DeadlineEntry): void {
    this.items.push(entry);
    this.up(this.items.length - 1);
  }

  /** Removes and returns the earliest entry. */
  pop(): DeadlineEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top !== undefined && last !== undefined && items.length > 0) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const a = this.items[i] as DeadlineEntry;
    const b = this.items[j] as DeadlineEntry;
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.id < b.id);
  }

  private swap(i: number, j: number): void {
    const items = this.items;
    const t = items[i] as DeadlineEntry;
    items[i] = items[j] as DeadlineEntry;
    items[j] = t;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
