// Incremental parser of Redis requests: RESP multibulk arrays of bulk strings ("*2\r\n$3\r\nGET\r\n
// $1\r\nk\r\n") and inline commands ("GET k\r\n"), chosen per command by the first byte as
// redis-server does. Chunks are pushed as they arrive; `next()` returns complete commands in order,
// so pipelined requests are answered in order. A protocol error is returned once, worded as Redis
// words it, and the parser then stays failed: the connection must answer it and close, because the
// stream can no longer be trusted to be in sync (Redis closes too).
//
// Memory is bounded: only bytes that arrived are held, a length prefix over the limit is refused
// before any of its data is read, and the arguments of one command are capped in total.
import { MAX_VALUE_BYTES } from "../../kv/limits.js";
import { parseRedisInteger } from "./decimal.js";
import { InputBuffer } from "./input-buffer.js";
import { splitInlineArgs } from "./resp-inline.js";

/** Limits of one connection's request parser. */
export interface RespLimits {
  /** Largest bulk string (Redis: proto-max-bulk-len, 512 MiB); default the store's value limit. */
  bulkBytesMax: number;
  /** Most arguments in one multibulk command (Redis 2.x–6: 1024*1024). */
  multibulkCountMax: number;
  /** Longest inline command, and longest "*N" / "$N" line (Redis: PROTO_INLINE_MAX_SIZE). */
  inlineBytesMax: number;
  /** Total argument bytes of one command (plus ARG_OVERHEAD_BYTES per argument). */
  requestBytesMax: number;
}

export const DEFAULT_RESP_LIMITS: Readonly<RespLimits> = {
  bulkBytesMax: MAX_VALUE_BYTES,
  multibulkCountMax: 1024 * 1024,
  inlineBytesMax: 64 * 1024,
  requestBytesMax: 16 * 1024 * 1024,
};

/** Bytes charged per argument on top of its length, for the array slot and the object header. */
export const ARG_OVERHEAD_BYTES = 32;
/** Redis's limits before AUTH when a password is required (networking.c, authRequired). */
const UNAUTHENTICATED_MULTIBULK_COUNT_MAX = 10;
const UNAUTHENTICATED_BULK_BYTES_MAX = 16384;

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;

/** One parsed request: a command (arguments as raw bytes) or the protocol error that ends the stream. */
export type RespFrame =
  | { type: "command"; args: Uint8Array[]; inline: boolean }
  | { type: "error"; message: string };

/** Redis's wording for each protocol error (networking.c, processMultibulkBuffer/processInlineBuffer). */
export const RESP_PROTOCOL_ERRORS = {
  tooBigInline: "ERR Protocol error: too big inline request",
  unbalancedQuotes: "ERR Protocol error: unbalanced quotes in request",
  tooBigMultibulkCount: "ERR Protocol error: too big mbulk count string",
  tooBigBulkCount: "ERR Protocol error: too big bulk count string",
  invalidMultibulkLength: "ERR Protocol error: invalid multibulk length",
  invalidBulkLength: "ERR Protocol error: invalid bulk length",
  unauthenticatedMultibulkLength: "ERR Protocol error: unauthenticated multibulk length",
  unauthenticatedBulkLength: "ERR Protocol error: unauthenticated bulk length",
  /** Not Redis's (Redis closes silently at client-query-buffer-limit): one command over requestBytesMax. */
  tooBigRequest: "ERR Protocol error: too big request",
} as const;

/** Redis's "expected '$', got 'x'"; an unprintable byte is shown as a space so the reply stays one line. */
export function expectedDollarError(byte: number): string {
  const shown = byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : " ";
  return `ERR Protocol error: expected '$', got '${shown}'`;
}

/** Parses one connection's request stream; see the file comment. */
export class RespRequestParser {
  private readonly input = new InputBuffer();
  private readonly limits: RespLimits;
  private failed = false;
  private authRequired = false;
  /** Arguments still to read of the multibulk command in progress (0: between commands). */
  private multibulkRemaining = 0;
  /** Length of the bulk string being read, or -1 while its "$N" line is still to come. */
  private bulkLength = -1;
  private args: Uint8Array[] = [];
  private argBytes = 0;

  constructor(limits: Partial<RespLimits> = {}) {
    this.limits = { ...DEFAULT_RESP_LIMITS, ...limits };
  }

  /** Applies Redis's tighter pre-AUTH limits (10 arguments, 16 KiB bulks) while `required`. */
  setAuthRequired(required: boolean): void {
    this.authRequired = required;
  }

  /** Bytes held: unparsed input plus the arguments of the command in progress. */
  get bufferedBytes(): number {
    return this.input.length + this.argBytes;
  }

  /** Whether a protocol error ended the stream. */
  get isFailed(): boolean {
    return this.failed;
  }

  /** Adds received bytes; call next() until it returns null. */
  push(chunk: Uint8Array): void {
    if (!this.failed) this.input.append(chunk);
  }

  /** push() then every frame now complete. */
  feed(chunk: Uint8Array): RespFrame[] {
    this.push(chunk);
    const out: RespFrame[] = [];
    for (let f = this.next(); f !== null; f = this.next()) out.push(f);
    return out;
  }

  /** The next complete command or protocol error, or null when more bytes are needed. */
  next(): RespFrame | null {
    const frame = this.parse();
    if (frame === null) this.input.detach();
    return frame;
  }

  private fail(message: string): RespFrame {
    this.failed = true;
    this.input.consume(this.input.length);
    this.args = [];
    this.argBytes = 0;
    return { type: "error", message };
  }

  private parse(): RespFrame | null {
    while (!this.failed) {
      if (this.multibulkRemaining > 0) return this.parseMultibulkArgs();
      if (this.input.length === 0) return null;
      const frame = this.input.at(0) === STAR ? this.parseMultibulkCount() : this.parseInline();
      if (frame !== "skip") return frame;
    }
    return null;
  }

  /** An inline command line, or "skip" for an empty line. */
  private parseInline(): RespFrame | "skip" | null {
    const { inlineBytesMax } = this.limits;
    const lf = this.input.indexOf(LF, 0, inlineBytesMax + 1);
    if (lf === -1) {
      return this.input.length > inlineBytesMax ? this.fail(RESP_PROTOCOL_ERRORS.tooBigInline) : null;
    }
    const end = lf > 0 && this.input.at(lf - 1) === CR ? lf - 1 : lf;
    const args = splitInlineArgs(this.input.view(0, end));
    if (args === null) return this.fail(RESP_PROTOCOL_ERRORS.unbalancedQuotes);
    this.input.consume(lf + 1);
    return args.length === 0 ? "skip" : { type: "command", args, inline: true };
  }

  /**
   * The "\r\n"-terminated line at the front: its end offset (the '\r'), null when incomplete, or
   * "bad" when the '\r' is not followed by '\n' or no '\r' came within the line limit.
   */
  private lineEnd(): number | null | "bad" | "too-long" {
    const { inlineBytesMax } = this.limits;
    const cr = this.input.indexOf(CR, 0, inlineBytesMax + 1);
    if (cr === -1) return this.input.length > inlineBytesMax ? "too-long" : null;
    if (cr + 1 >= this.input.length) return null;
    return this.input.at(cr + 1) === LF ? cr : "bad";
  }

  /** "*N\r\n": starts a command of N arguments, or "skip" for N <= 0 (Redis ignores those). */
  private parseMultibulkCount(): RespFrame | "skip" | null {
    const end = this.lineEnd();
    if (end === null) return null;
    if (end === "too-long") return this.fail(RESP_PROTOCOL_ERRORS.tooBigMultibulkCount);
    if (end === "bad") return this.fail(RESP_PROTOCOL_ERRORS.invalidMultibulkLength);
    const count = parseRedisInteger(this.input.view(0, end), 1, end);
    if (count === null || count > this.limits.multibulkCountMax) return this.fail(RESP_PROTOCOL_ERRORS.invalidMultibulkLength);
    if (count > UNAUTHENTICATED_MULTIBULK_COUNT_MAX && this.authRequired) {
      return this.fail(RESP_PROTOCOL_ERRORS.unauthenticatedMultibulkLength);
    }
    this.input.consume(end + 2);
    if (count <= 0) return "skip";
    this.multibulkRemaining = count;
    this.bulkLength = -1;
    return this.parseMultibulkArgs();
  }

  /** "$N\r\n<N bytes>\r\n" until the command is complete. */
  private parseMultibulkArgs(): RespFrame | null {
    while (this.multibulkRemaining > 0) {
      if (this.bulkLength === -1) {
        const end = this.lineEnd();
        if (end === null) return null;
        if (end === "too-long") return this.fail(RESP_PROTOCOL_ERRORS.tooBigBulkCount);
        const first = this.input.at(0);
        if (first !== DOLLAR) return this.fail(expectedDollarError(first));
        if (end === "bad") return this.fail(RESP_PROTOCOL_ERRORS.invalidBulkLength);
        const length = parseRedisInteger(this.input.view(0, end), 1, end);
        if (length === null || length < 0 || length > this.limits.bulkBytesMax) return this.fail(RESP_PROTOCOL_ERRORS.invalidBulkLength);
        if (length > UNAUTHENTICATED_BULK_BYTES_MAX && this.authRequired) return this.fail(RESP_PROTOCOL_ERRORS.unauthenticatedBulkLength);
        if (this.argBytes + length + ARG_OVERHEAD_BYTES > this.limits.requestBytesMax) return this.fail(RESP_PROTOCOL_ERRORS.tooBigRequest);
        this.input.consume(end + 2);
        this.bulkLength = length;
      }
      const length = this.bulkLength;
      if (this.input.length < length + 2) return null;
      // Redis skips the two bytes after the data unchecked; a client whose "$N" disagrees with its
      // data would then be misparsed silently, so a missing CRLF is refused as a bad length.
      if (this.input.at(length) !== CR || this.input.at(length + 1) !== LF) return this.fail(RESP_PROTOCOL_ERRORS.invalidBulkLength);
      this.args.push(this.input.copy(0, length));
      this.argBytes += length + ARG_OVERHEAD_BYTES;
      this.input.consume(length + 2);
      this.bulkLength = -1;
      this.multibulkRemaining--;
    }
    const args = this.args;
    this.args = [];
    this.argBytes = 0;
    return { type: "command", args, inline: false };
  }
}
