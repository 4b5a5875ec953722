// Encoder of Redis replies in RESP2 or RESP3 (the connection's protocol, switched by HELLO). The
// RESP3-only types degrade the way redis-server degrades them for RESP2 clients: a map becomes a
// flat array of key, value, ...; a set an array; a double a bulk string; a boolean the integer 1/0;
// a verbatim string a bulk string; null the null bulk ($-1) or null array (*-1); a push an array.
// Replies of a pipelined batch accumulate in one OutputBuffer and leave in one write.
import { OutputBuffer } from "./output-buffer.js";

/** The protocol version a connection speaks. */
export type RespVersion = 2 | 3;

const encoder = new TextEncoder();

/** Writes RESP replies into one growable buffer. */
export class RespWriter {
  readonly out: OutputBuffer;

  constructor(public protocol: RespVersion = 2, out: OutputBuffer = new OutputBuffer()) {
    this.out = out;
  }

  /** "+OK": a status line. Must not contain CR or LF (a bug in the caller if it does). */
  simple(s: string): void {
    this.out.byte(0x2b);
    this.out.utf8(oneLine(s));
    this.out.crlf();
  }

  /** "-ERR message": `line` starts with the error code ("ERR", "WRONGTYPE", "OOM"); CR/LF become spaces as in Redis. */
  error(line: string): void {
    this.out.byte(0x2d);
    this.out.utf8(oneLine(line));
    this.out.crlf();
  }

  /** ":42". */
  integer(n: number | bigint): void {
    this.out.byte(0x3a);
    this.out.ascii(typeof n === "bigint" ? n.toString() : integerText(n));
    this.out.crlf();
  }

  /** "$3\r\nabc": a binary-safe string. */
  bulk(value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? encoder.encode(value) : value;
    this.out.byte(0x24);
    this.out.ascii(String(bytes.length));
    this.out.crlf();
    this.out.bytes(bytes);
    this.out.crlf();
  }

  /** A missing value: RESP3 "_", RESP2 the null bulk "$-1". */
  null(): void {
    this.out.ascii(this.protocol === 3 ? "_\r\n" : "$-1\r\n");
  }

  /** A missing array: RESP3 "_", RESP2 the null array "*-1". */
  nullArray(): void {
    this.out.ascii(this.protocol === 3 ? "_\r\n" : "*-1\r\n");
  }

  /** "*n": an array of the next n replies. */
  array(n: number): void {
    this.header(0x2a, n);
  }

  /** A map of the next n key/value pairs: RESP3 "%n", RESP2 a flat array of 2n elements. */
  map(n: number): void {
    if (this.protocol === 3) this.header(0x25, n);
    else this.header(0x2a, n * 2);
  }

  /** A set of the next n replies: RESP3 "~n", RESP2 an array. */
  set(n: number): void {
    this.header(this.protocol === 3 ? 0x7e : 0x2a, n);
  }

  /** An out-of-band push of the next n replies: RESP3 ">n", RESP2 an array. */
  push(n: number): void {
    this.header(this.protocol === 3 ? 0x3e : 0x2a, n);
  }

  /** A double: RESP3 ",1.5" (",inf", ",-inf", ",nan"), RESP2 the same text as a bulk string. */
  double(x: number): void {
    const text = doubleText(x);
    if (this.protocol === 3) {
      this.out.byte(0x2c);
      this.out.ascii(text);
      this.out.crlf();
    } else {
      this.bulk(text);
    }
  }

  /** A boolean: RESP3 "#t"/"#f", RESP2 ":1"/":0". */
  boolean(b: boolean): void {
    if (this.protocol === 3) this.out.ascii(b ? "#t\r\n" : "#f\r\n");
    else this.integer(b ? 1 : 0);
  }

  /** Text meant for people (INFO, CLIENT LIST): RESP3 "=n\r\ntxt:...", RESP2 a bulk string. */
  verbatim(text: string, format = "txt"): void {
    if (this.protocol !== 3) {
      this.bulk(text);
      return;
    }
    if (format.length !== 3) throw new Error(`Cannot encode a verbatim string with format "${format}": the format is exactly 3 characters`);
    const bytes = encoder.encode(text);
    this.out.byte(0x3d);
    this.out.ascii(String(bytes.length + 4));
    this.out.crlf();
    this.out.ascii(format);
    this.out.byte(0x3a);
    this.out.bytes(bytes);
    this.out.crlf();
  }

  private header(type: number, n: number): void {
    this.out.byte(type);
    this.out.ascii(integerText(n));
    this.out.crlf();
  }

  /** The encoded replies so far; the writer is then empty. */
  take(): Uint8Array {
    return this.out.take();
  }
}

function integerText(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`Cannot encode ${n} as a RESP integer: not a safe integer (pass a bigint)`);
  return String(n);
}

/** Redis's text for a double: "inf", "-inf", "nan", else the shortest round-trip form. */
export function doubleText(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return String(x);
}

function oneLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, " ") : s;
}
