// Finds where a message body ends without copying it: a byte count for Content-Length, a strict
// chunked-framing scanner for Transfer-Encoding: chunked (the chunk bytes are forwarded unchanged,
// only the size lines and trailers are checked), or "until close" for old-style responses.
// Trailer fields are held to the header rules (token name directly followed by a colon, no
// obs-fold, no control bytes in the value) and may not carry a field that frames, routes,
// authenticates or describes the message (FORBIDDEN_TRAILER_NAMES): a backend that merges trailers
// into the header section must not learn a second Content-Length or Host from them.
// Pure: fed any split of the input, byte by byte included.

/** Returned by advance() when every byte given belongs to the body and more is needed. */
export const BODY_MORE = -1;
/** Returned by advance() when the chunked framing is invalid (see `error`). */
export const BODY_FAILED = -2;

export const FRAMING_NONE = 0;
export const FRAMING_LENGTH = 1;
export const FRAMING_CHUNKED = 2;
export const FRAMING_CLOSE = 3;

/** Bound on hex digits of a chunk size: 13 hex digits stay exact in a double. */
const MAX_CHUNK_SIZE_DIGITS = 13;
/** Bound on the bytes of chunk extensions on one size line. */
const MAX_CHUNK_EXTENSION_BYTES = 1024;

const CR = 0x0d;
const LF = 0x0a;

const S_SIZE = 0;
const S_SIZE_WS = 1;
const S_EXT = 2;
const S_SIZE_LF = 3;
const S_DATA = 4;
const S_DATA_CR = 5;
const S_DATA_LF = 6;
const S_TRAILER_START = 7;
const S_TRAILER_NAME = 8;
const S_TRAILER_VALUE = 9;
const S_TRAILER_LF = 10;
const S_END_LF = 11;
const S_DONE = 12;

/**
 * Fields refused in trailers (lowercase), after RFC 9110 §6.5.1: message framing, routing and
 * connection management (the proxy and backends act on these in the header section only), request
 * modifiers and authentication, content description, and the fields this proxy sets itself.
 */
export const FORBIDDEN_TRAILER_NAMES: ReadonlySet<string> = new Set([
  "content-length", "transfer-encoding", "trailer", "te", "host", "connection", "keep-alive",
  "proxy-connection", "upgrade", "expect", "max-forwards", "range", "cache-control",
  "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate", "cookie", "set-cookie",
  "content-type", "content-encoding", "content-range", "location",
  "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
]);
/** Longest name in FORBIDDEN_TRAILER_NAMES: longer trailer names need not be kept for the check. */
const FORBIDDEN_NAME_BYTES_MAX = Math.max(...[...FORBIDDEN_TRAILER_NAMES].map((n) => n.length));

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}
/** Bytes allowed in chunk extensions and trailer values: VCHAR, SP, HTAB, obs-text. */
const LINE_CHAR = new Uint8Array(256);
LINE_CHAR[0x09] = 1;
for (let b = 0x20; b <= 0xff; b++) if (b !== 0x7f) LINE_CHAR[b] = 1;
/** tchar (RFC 9110 §5.6.2), lowercased: 0 for a byte that is not a tchar. */
const TCHAR_LOWER = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR_LOWER[c.charCodeAt(0)] = c.toLowerCase().charCodeAt(0);
}

/** Tracks one message body; reuse it with start() for the next message. */
export class BodyFramer {
  framing = FRAMING_NONE;
  /** Bytes left in a Content-Length body or in the current chunk. */
  remaining = 0;
  done = true;
  error = "";
  private state = S_SIZE;
  private digits = 0;
  private lineBytes = 0;
  private maxTrailerBytes: number;
  /** The current trailer name, lowercased (its first FORBIDDEN_NAME_BYTES_MAX bytes). */
  private readonly trailerName = new Uint8Array(FORBIDDEN_NAME_BYTES_MAX);
  private trailerNameBytes = 0;

  constructor(maxTrailerBytes: number) {
    this.maxTrailerBytes = maxTrailerBytes;
  }

  /** Starts a body with the given framing; `length` is the Content-Length for FRAMING_LENGTH. */
  start(framing: number, length: number): void {
    this.framing = framing;
    this.error = "";
    this.state = S_SIZE;
    this.digits = 0;
    this.lineBytes = 0;
    this.remaining = framing === FRAMING_LENGTH ? length : 0;
    this.done = framing === FRAMING_NONE || (framing === FRAMING_LENGTH && length === 0);
  }

  /**
   * Consumes body bytes from `buf[start..]`. Returns the offset just past the body's end (bytes
   * after it belong to the next message), BODY_MORE when all of them belong to the body, or
   * BODY_FAILED. With FRAMING_CLOSE every byte is body.
   */
  advance(buf: Buffer, start: number): number {
    if (this.done) return start;
    const len = buf.length;
    if (this.framing === FRAMING_LENGTH) {
      const avail = len - start;
      if (avail < this.remaining) {
        this.remaining -= avail;
        return BODY_MORE;
      }
      const end = start + this.remaining;
      this.remaining = 0;
      this.done = true;
      return end;
    }
    if (this.framing === FRAMING_CLOSE) return BODY_MORE;
    return this.scanChunked(buf, start, len);
  }

  private fail(reason: string): number {
    this.error = reason;
    this.state = S_DONE;
    return BODY_FAILED;
  }

  private isForbiddenTrailer(): boolean {
    return this.trailerNameBytes <= FORBIDDEN_NAME_BYTES_MAX && FORBIDDEN_TRAILER_NAMES.has(this.trailerNameString());
  }

  /** The current trailer name, lowercased (trailers are rare: building a string here is fine). */
  private trailerNameString(): string {
    const n = Math.min(this.trailerNameBytes, FORBIDDEN_NAME_BYTES_MAX);
    return String.fromCharCode(...this.trailerName.subarray(0, n));
  }

  private scanChunked(buf: Buffer, i: number, len: number): number {
    while (i < len) {
      switch (this.state) {
        case S_SIZE: {
          const b = buf[i]!;
          const h = HEX[b]!;
          if (h >= 0) {
            if (++this.digits > MAX_CHUNK_SIZE_DIGITS) return this.fail("Chunk size is too large");
            this.remaining = this.remaining * 16 + h;
            i++;
            break;
          }
          if (this.digits === 0) return this.fail("Invalid chunk size");
          if (b === CR) this.state = S_SIZE_LF;
          else if (b === 0x3b) {
            this.state = S_EXT;
            this.lineBytes = 0;
          } else if (b === 0x20 || b === 0x09) this.state = S_SIZE_WS;
          else return this.fail("Invalid chunk size");
          i++;
          break;
        }
        case S_SIZE_WS: {
          // Whitespace after the size is allowed only before an extension (BWS ";").
          const b = buf[i]!;
          if (b === 0x3b) {
            this.state = S_EXT;
            this.lineBytes = 0;
          } else if (b !== 0x20 && b !== 0x09) return this.fail("Invalid chunk size");
          i++;
          break;
        }
        case S_EXT: {
          const b = buf[i]!;
          if (b === CR) this.state = S_SIZE_LF;
          else if (LINE_CHAR[b] !== 1) return this.fail("Invalid character in a chunk extension");
          else if (++this.lineBytes > MAX_CHUNK_EXTENSION_BYTES) return this.fail("Chunk extension is too long");
          i++;
          break;
        }
        case S_SIZE_LF:
          if (buf[i] !== LF) return this.fail("Bare CR in a chunk size line");
          i++;
          if (this.remaining === 0) {
            this.state = S_TRAILER_START;
            this.lineBytes = 0;
          } else this.state = S_DATA;
          break;
        case S_DATA: {
          const avail = len - i;
          if (avail < this.remaining) {
            this.remaining -= avail;
            return BODY_MORE;
          }
          i += this.remaining;
          this.remaining = 0;
          this.state = S_DATA_CR;
          break;
        }
        case S_DATA_CR:
          if (buf[i] !== CR) return this.fail("Chunk data is longer than its size");
          i++;
          this.state = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (buf[i] !== LF) return this.fail("Bare CR after chunk data");
          i++;
          this.state = S_SIZE;
          this.digits = 0;
          break;
        case S_TRAILER_START: {
          const b = buf[i]!;
          if (b === CR) {
            this.state = S_END_LF;
            i++;
            break;
          }
          if (b === 0x20 || b === 0x09) return this.fail("Obsolete line folding in a trailer");
          this.state = S_TRAILER_NAME;
          this.trailerNameBytes = 0;
          break;
        }
        case S_TRAILER_NAME: {
          const b = buf[i]!;
          if (++this.lineBytes > this.maxTrailerBytes) return this.fail("Trailers are too large");
          i++;
          const lower = TCHAR_LOWER[b]!;
          if (lower !== 0) {
            if (this.trailerNameBytes < FORBIDDEN_NAME_BYTES_MAX) this.trailerName[this.trailerNameBytes] = lower;
            this.trailerNameBytes++;
            break;
          }
          if (b !== 0x3a) {
            if (b === CR) return this.fail("Trailer line without a colon");
            if (b === 0x20 || b === 0x09) return this.fail("Whitespace before the colon of a trailer");
            return this.fail("Invalid character in a trailer name");
          }
          if (this.trailerNameBytes === 0) return this.fail("Trailer with an empty name");
          if (this.isForbiddenTrailer()) return this.fail(`Field ${this.trailerNameString()} is not allowed in trailers`);
          this.state = S_TRAILER_VALUE;
          break;
        }
        case S_TRAILER_VALUE: {
          const b = buf[i]!;
          if (b === CR) this.state = S_TRAILER_LF;
          else if (LINE_CHAR[b] !== 1) return this.fail("Invalid character in a trailer");
          if (++this.lineBytes > this.maxTrailerBytes) return this.fail("Trailers are too large");
          i++;
          break;
        }
        case S_TRAILER_LF:
          if (buf[i] !== LF) return this.fail("Bare CR in a trailer");
          i++;
          this.state = S_TRAILER_START;
          break;
        case S_END_LF:
          if (buf[i] !== LF) return this.fail("Bare CR at the end of a chunked body");
          this.state = S_DONE;
          this.done = true;
          return i + 1;
        default:
          return this.fail("Body already ended");
      }
    }
    return BODY_MORE;
  }
}
