// Minimal binary writer and reader used by the command codec and the snapshot format: unsigned
// varints (LEB128, up to 2^53 - 1), length-prefixed byte strings and UTF-8 strings.
import { utf8ByteLength } from "./keys.js";

const INITIAL_CAPACITY_BYTES = 256;
/** Below this size a byte loop beats TypedArray.prototype.set (which has a fixed call cost). */
const SMALL_COPY_BYTES = 128;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes taken by uvarint(n). */
export function uvarintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Appends primitives to a growable buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(capacityBytes = INITIAL_CAPACITY_BYTES) {
    this.buf = new Uint8Array(capacityBytes);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Writes one byte. */
  u8(n: number): void {
    this.reserve(1);
    this.buf[this.pos++] = n & 0xff;
  }

  /** Writes a non-negative safe integer as an unsigned LEB128 varint. */
  uvarint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Cannot encode varint ${n}: not a non-negative safe integer`);
    this.reserve(8);
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  /** Writes a length-prefixed byte string. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.uvarint(n);
    this.reserve(n);
    const buf = this.buf;
    if (n > SMALL_COPY_BYTES) {
      buf.set(b, this.pos);
    } else {
      for (let i = 0; i < n; i++) buf[this.pos + i] = b[i] as number;
    }
    this.pos += n;
  }

  /** Writes a length-prefixed UTF-8 string. */
  string(s: string): void {
    const n = utf8ByteLength(s);
    this.uvarint(n);
    this.reserve(n);
    const buf = this.buf;
    if (n === s.length) {
      for (let i = 0; i < n; i++) buf[this.pos + i] = s.charCodeAt(i);
    } else {
      encoder.encodeInto(s, buf.subarray(this.pos, this.pos + n));
    }
    this.pos += n;
  }

  /** The bytes written so far, sized exactly (the buffer itself when the capacity was exact). */
  finish(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }
}

/** Reads what ByteWriter wrote; throws on truncated or malformed input. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  /** Whether every byte was consumed. */
  get done(): boolean {
    return this.pos === this.buf.length;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(`Cannot decode ${n} bytes at offset ${this.pos}: input ends at ${this.buf.length}`);
    }
  }

  /** Reads one byte. */
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  /** Reads an unsigned varint. */
  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 0x80;
    }
    throw new Error(`Cannot decode varint at offset ${this.pos}: too long`);
  }

  /** Reads a length-prefixed byte string (copied, so it does not pin the input buffer). */
  bytes(): Uint8Array {
    const n = this.uvarint();
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a length-prefixed UTF-8 string. */
  string(): string {
    const n = this.uvarint();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    const buf = this.buf;
    if (n <= 64) {
      let ascii = "";
      for (let i = start; i < start + n; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) return decoder.decode(buf.subarray(start, start + n));
        ascii += String.fromCharCode(c);
      }
      return ascii;
    }
    return decoder.decode(buf.subarray(start, start + n));
  }
}
