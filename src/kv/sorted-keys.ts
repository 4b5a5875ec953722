// An ordered set of keys for range reads: a list of sorted chunks (a flat B-tree of depth one), so
// inserting a key costs O(log n + CHUNK) instead of moving the whole array.
/** Keys per chunk before it is split in two. */
export const SORTED_KEYS_CHUNK_MAX = 512;

/** Index of the first element of `keys` that is >= key. */
export function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted set of distinct strings (JavaScript string order). */
export class SortedKeys {
  private chunks: string[][] = [];
  private count = 0;

  /** Builds a set from keys already sorted and distinct. */
  static fromSorted(keys: readonly string[]): SortedKeys {
    const set = new SortedKeys();
    const step = SORTED_KEYS_CHUNK_MAX / 2;
    for (let i = 0; i < keys.length; i += step) set.chunks.push(keys.slice(i, i + step));
    set.count = keys.length;
    return set;
  }

  /** Number of keys. */
  get size(): number {
    return this.count;
  }

  /** Index of the first chunk whose last key is >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid] as string[];
      if ((c[c.length - 1] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds a key that is not in the set. */
  insert(key: string): void {
    const chunks = this.chunks;
    this.count++;
    if (chunks.length === 0) {
      chunks.push([key]);
      return;
    }
    let ci = this.chunkFor(key);
    if (ci === chunks.length) ci--; // past the last key: append to the last chunk
    const chunk = chunks[ci] as string[];
    const at = lowerBound(chunk, key);
    if (chunk[at] === key) throw new Error(`Cannot insert key ${key}: already present`);
    if (at === chunk.length) chunk.push(key);
    else chunk.splice(at, 0, key);
    if (chunk.length > SORTED_KEYS_CHUNK_MAX) chunks.splice(ci + 1, 0, chunk.splice(chunk.length >>> 1));
  }

  /** Keeps only the keys for which `keep` is true. */
  retain(keep: (key: string) => boolean): void {
    const all: string[] = [];
    for (const chunk of this.chunks) for (const key of chunk) if (keep(key)) all.push(key);
    const rebuilt = SortedKeys.fromSorted(all);
    this.chunks = rebuilt.chunks;
    this.count = rebuilt.count;
  }

  /** Calls `visit` on each key >= `from` in order while it returns true. */
  forEachFrom(from: string, visit: (key: string) => boolean): void {
    const chunks = this.chunks;
    const ci = this.chunkFor(from);
    for (let c = ci; c < chunks.length; c++) {
      const chunk = chunks[c] as string[];
      for (let i = c === ci ? lowerBound(chunk, from) : 0; i < chunk.length; i++) {
        if (!visit(chunk[i] as string)) return;
      }
    }
  }

  /** Every key, in order. */
  toArray(): string[] {
    return this.chunks.flat();
  }
}
