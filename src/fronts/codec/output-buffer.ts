// A growable byte buffer the reply encoders write into: replies for a whole pipelined batch go into
// one array, and `take()` hands the batch to the socket as one write.

const DEFAULT_CAPACITY_BYTES = 4096;
/** After a batch larger than this the buffer shrinks back, so one big reply does not pin memory. */
const RETAINED_CAPACITY_BYTES_MAX = 256 * 1024;
const encoder = new TextEncoder();

/** Appends bytes, ASCII, UTF-8 and decimal integers to one growable array. */
export class OutputBuffer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(private readonly initialCapacityBytes = DEFAULT_CAPACITY_BYTES) {
    this.buf = new Uint8Array(initialCapacityBytes);
  }

  /** Bytes written since the last take(). */
  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** One byte. */
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** Raw bytes. */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string whose characters are all below 0x80 (protocol keywords, numbers). */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) buf[this.pos++] = s.charCodeAt(i) & 0x7f;
  }

  /** Any string, UTF-8 encoded. */
  utf8(s: string): void {
    this.reserve(s.length * 3);
    this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos)).written;
  }

  /** "\r\n". */
  crlf(): void {
    this.reserve(2);
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
  }

  /** A 16-bit big-endian integer. */
  u16(n: number): void {
    this.reserve(2);
    this.buf[this.pos++] = (n >>> 8) & 0xff;
    this.buf[this.pos++] = n & 0xff;
  }

  /** A 32-bit big-endian unsigned integer. */
  u32(n: number): void {
    this.reserve(4);
    this.buf[this.pos++] = (n >>> 24) & 0xff;
    this.buf[this.pos++] = (n >>> 16) & 0xff;
    this.buf[this.pos++] = (n >>> 8) & 0xff;
    this.buf[this.pos++] = n & 0xff;
  }

  /** A 64-bit big-endian unsigned integer. */
  u64(n: bigint): void {
    this.u32(Number((n >> 32n) & 0xffffffffn));
    this.u32(Number(n & 0xffffffffn));
  }

  /** The bytes written so far (an exact-size copy); the buffer is then empty and reusable. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    if (this.buf.length > RETAINED_CAPACITY_BYTES_MAX) this.buf = new Uint8Array(this.initialCapacityBytes);
    return out;
  }
}
