// The unparsed bytes of one connection, shared by the RESP and memcached parsers. A chunk that
// arrives into an empty buffer is parsed in place (no copy); only the unfinished tail of a chunk is
// copied, by `detach()`, so a parser never pins a whole socket chunk for a few leftover bytes. The
// buffer holds only bytes that arrived: a length prefix never reserves memory ahead of its data.

const EMPTY = new Uint8Array(0);
const MIN_OWNED_CAPACITY_BYTES = 1024;

/** A FIFO of received bytes with cheap appends, lookups and consumption from the front. */
export class InputBuffer {
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private end = 0;
  /** Whether `buf` is our own array (false: a caller's chunk we parse in place). */
  private owned = false;

  /** Bytes received and not yet consumed. */
  get length(): number {
    return this.end - this.start;
  }

  /** Appends a received chunk; the chunk must not be modified afterwards while it is pending. */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.length === 0) {
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    this.ensureOwned(this.length + chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Copies the pending bytes out of a borrowed chunk, so the chunk can be collected. */
  detach(): void {
    if (this.owned || this.length === 0) {
      if (this.length === 0) this.clear();
      return;
    }
    this.ensureOwned(this.length);
  }

  /** Room for `total` pending bytes in an owned array, compacting or growing as needed. */
  private ensureOwned(total: number): void {
    if (this.owned && this.start + total <= this.buf.length) return;
    if (this.owned && total <= this.buf.length && this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    } else {
      const next = new Uint8Array(Math.max(MIN_OWNED_CAPACITY_BYTES, total, this.owned ? this.buf.length * 2 : 0));
      next.set(this.buf.subarray(this.start, this.end));
      this.buf = next;
      this.owned = true;
    }
    this.end -= this.start;
    this.start = 0;
  }

  private clear(): void {
    this.buf = EMPTY;
    this.start = 0;
    this.end = 0;
    this.owned = false;
  }

  /** The byte at offset `i` from the front (caller checks `i < length`). */
  at(i: number): number {
    return this.buf[this.start + i] as number;
  }

  /** Offset of the first `byte` in [from, limit) from the front, or -1. */
  indexOf(byte: number, from: number, limit: number): number {
    const stop = this.start + Math.min(limit, this.length);
    const i = this.buf.indexOf(byte, this.start + from);
    return i === -1 || i >= stop ? -1 : i - this.start;
  }

  /** Whether the bytes at [offset, offset + ascii.length) equal the ASCII string. */
  startsWithAscii(ascii: string, offset = 0): boolean {
    if (offset + ascii.length > this.length) return false;
    for (let i = 0; i < ascii.length; i++) {
      if (this.at(offset + i) !== ascii.charCodeAt(i)) return false;
    }
    return true;
  }

  /** A copy of [from, to) from the front: it does not pin the received chunk. */
  copy(from: number, to: number): Uint8Array {
    return this.buf.slice(this.start + from, this.start + to);
  }

  /** A view of [from, to) valid only until the next append/consume/detach. */
  view(from: number, to: number): Uint8Array {
    return this.buf.subarray(this.start + from, this.start + to);
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }
}
