// Wire framing: every frame is a 4-byte big-endian length, then that many bytes: a 1-byte kind and
// the body. The length covers kind + body, so it is never 0. Each kind has its own size bound
// (snapshots may be large, everything else is small), checked as soon as the 5-byte header is in,
// before any body byte is buffered: an oversized frame costs the receiver nothing.
// The parser is pure: feed it chunks in any split, down to one byte at a time.

/** Bytes before a frame's body: 4 of length, 1 of kind. */
export const FRAME_HEADER_BYTES = 5;

/** One complete frame. `body` may share memory with the chunk it arrived in. */
export interface Frame {
  readonly kind: number;
  readonly body: Buffer;
}

/** A frame the parser refuses; the connection must be closed. */
export interface FrameViolation {
  readonly code: "frame_too_large" | "empty_frame" | "unknown_kind";
  readonly reason: string;
}

/** What one push yields: the frames completed by this chunk, and a violation if one was found. */
export interface FrameParseResult {
  readonly frames: Frame[];
  readonly violation: FrameViolation | null;
}

/** Size bound for a frame of `kind` (length of kind + body), or null when the kind is unknown. */
export type FrameBound = (kind: number) => number | null;

/** Writes a frame header for `kind` with a body of `bodyBytes` at `offset` of `buf`. */
export function writeFrameHeader(buf: Buffer, offset: number, kind: number, bodyBytes: number): void {
  buf.writeUInt32BE(bodyBytes + 1, offset);
  buf[offset + 4] = kind;
}

/** Incremental frame parser. After a violation it refuses all further input. */
export class FrameParser {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  /** Total bytes (header included) of the frame being assembled; 0 while waiting for a header. */
  private frameBytes = 0;
  private frameKind = 0;
  private failed: FrameViolation | null = null;

  constructor(private readonly boundOf: FrameBound) {}

  /** Bytes held for an incomplete frame (bounded by the largest frame bound plus one chunk). */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): FrameParseResult {
    if (this.failed !== null) return { frames: [], violation: this.failed };
    const frames: Frame[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    for (;;) {
      if (this.frameBytes === 0) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) break;
        const header = this.peek(FRAME_HEADER_BYTES);
        const length = header.readUInt32BE(0);
        const kind = header[4] as number;
        const violation = this.check(length, kind);
        if (violation !== null) {
          this.failed = violation;
          this.chunks = [];
          this.bufferedBytes = 0;
          return { frames, violation };
        }
        this.frameBytes = 4 + length;
        this.frameKind = kind;
      }
      if (this.bufferedBytes < this.frameBytes) break;
      const whole = this.take(this.frameBytes);
      frames.push({ kind: this.frameKind, body: whole.subarray(FRAME_HEADER_BYTES) });
      this.frameBytes = 0;
    }
    return { frames, violation: null };
  }

  private check(length: number, kind: number): FrameViolation | null {
    if (length === 0) return { code: "empty_frame", reason: "Frame of length 0 has no kind byte" };
    const bound = this.boundOf(kind);
    if (bound === null) return { code: "unknown_kind", reason: `Frame of unknown kind ${kind}` };
    if (length > bound) {
      return { code: "frame_too_large", reason: `Frame of kind ${kind} is ${length} bytes, over the limit of ${bound} bytes` };
    }
    return null;
  }

  /** The first `n` buffered bytes without consuming them (n is small: a header). */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks, Math.min(this.bufferedBytes, 64)).subarray(0, n);
  }

  /** Consumes the first `n` buffered bytes (n <= bufferedBytes). */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      let used = 0;
      // One pass and one splice: a large frame may span thousands of chunks.
      while (filled < n) {
        const chunk = this.chunks[used] as Buffer;
        const want = n - filled;
        if (chunk.length <= want) {
          chunk.copy(out, filled);
          filled += chunk.length;
          used++;
        } else {
          chunk.copy(out, filled, 0, want);
          filled += want;
          this.chunks[used] = chunk.subarray(want);
        }
      }
      this.chunks.splice(0, used);
    }
    this.bufferedBytes -= n;
    return out;
  }
}
