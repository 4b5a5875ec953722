// The buffering both memcached parsers (text and binary) share: received bytes are appended to one
// InputBuffer, frames are taken out with next() until it returns null, and after a fatal error the
// stream is closed (further bytes are dropped). Oversized values are "swallowed": their bytes are
// consumed without being kept, so a refused request costs no memory however large it claims to be.
import { InputBuffer } from "./input-buffer.js";

/** A parser of one connection's byte stream into frames of type F. */
export abstract class ByteStreamParser<F> {
  protected readonly input = new InputBuffer();
  /** Bytes still to be dropped of a refused request's body. */
  protected swallowRemaining = 0;
  protected failed = false;

  /** Unparsed bytes held. */
  get bufferedBytes(): number {
    return this.input.length;
  }

  /** Whether the stream was closed by an error. */
  get isFailed(): boolean {
    return this.failed;
  }

  /** Adds received bytes; call next() until it returns null. */
  push(chunk: Uint8Array): void {
    if (!this.failed) this.input.append(chunk);
  }

  /** push() then every frame now complete. */
  feed(chunk: Uint8Array): F[] {
    this.push(chunk);
    const out: F[] = [];
    for (let f = this.next(); f !== null; f = this.next()) out.push(f);
    return out;
  }

  /** The next frame, or null when more bytes are needed. */
  next(): F | null {
    const frame = this.parse();
    if (frame === null) this.input.detach();
    return frame;
  }

  /** Drops what it can of a refused body; true while more of it is still to arrive. */
  protected swallowing(): boolean {
    if (this.swallowRemaining === 0) return false;
    const n = Math.min(this.input.length, this.swallowRemaining);
    this.input.consume(n);
    this.swallowRemaining -= n;
    return this.swallowRemaining > 0;
  }

  /** The next frame from `input`, or null when more bytes are needed. */
  protected abstract parse(): F | null;
}
