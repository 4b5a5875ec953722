// A bounded window of samples and its percentile, for the slow-disk rule (WAL fsync durations).

/** The last `capacity` samples, oldest overwritten first. */
export class SampleWindow {
  private readonly samples: number[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  add(value: number): void {
    if (this.samples.length < this.capacity) this.samples.push(value);
    else this.samples[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
  }

  get size(): number {
    return this.samples.length;
  }

  /** The q-quantile (0 < q ≤ 1) by nearest rank; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
    return sorted[rank - 1];
  }
}
