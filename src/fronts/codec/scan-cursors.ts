// SCAN cursors for a store ordered by key. Redis cursors are unsigned integers that clients pass
// back verbatim (node-redis 4 even parses them as a JavaScript number), but "resume after key K"
// cannot be packed into one. So each unfinished scan gets a small integer cursor that maps to the
// last key it returned, in a bounded table per node: the oldest entries are dropped first, and an
// unknown cursor (dropped, or from another node) restarts the scan from the beginning — which keeps
// SCAN's guarantee (every key present throughout is returned at least once; some may repeat).

/** Default bound on live cursors per node. */
export const SCAN_CURSORS_MAX = 10_000;

/** Maps cursors to resume positions; cursor 0 is always "start". */
export class ScanCursorTable {
  private readonly positions = new Map<bigint, string>();
  private nextCursor = 1n;

  constructor(private readonly cursorsMax = SCAN_CURSORS_MAX) {
    if (!Number.isSafeInteger(cursorsMax) || cursorsMax < 1) throw new Error(`Cannot keep ${cursorsMax} scan cursors: the bound must be a positive integer`);
  }

  /** Live cursors. */
  get size(): number {
    return this.positions.size;
  }

  /** The store key to resume after, or null to start from the first key (cursor 0 or unknown). */
  resumeAfter(cursor: bigint): string | null {
    if (cursor === 0n) return null;
    const key = this.positions.get(cursor);
    if (key === undefined) return null;
    this.positions.delete(cursor); // a cursor is used once; the reply carries a fresh one
    return key;
  }

  /** The cursor to reply: 0 when the scan is finished, else a fresh cursor resuming after `lastKey`. */
  issue(lastKey: string | null): bigint {
    if (lastKey === null) return 0n;
    while (this.positions.size >= this.cursorsMax) {
      const oldest = this.positions.keys().next().value as bigint;
      this.positions.delete(oldest);
    }
    const cursor = this.nextCursor;
    // Stay within 2^53 so clients that parse the cursor as a double get it back exactly.
    this.nextCursor = cursor >= BigInt(Number.MAX_SAFE_INTEGER) ? 1n : cursor + 1n;
    this.positions.set(cursor, lastKey);
    return cursor;
  }
}
