// Client-side decoder of RESP2/RESP3 replies: what the fronts' own protocol tests (and a future
// benchmark driver) use to read what a front answered, and what checks RespWriter by round trip.
// Simple by design: an incomplete reply is re-read from its start when more bytes come, which is
// fine for a test client; depth and sizes are bounded so a hostile server cannot exhaust memory.
import { parseRedisBigInt } from "./decimal.js";
import { InputBuffer } from "./input-buffer.js";

/** A decoded reply. */
export type RespValue =
  | { type: "simple"; text: string }
  | { type: "error"; text: string }
  | { type: "integer"; value: bigint }
  | { type: "bulk"; value: Uint8Array }
  | { type: "null" }
  | { type: "array"; items: RespValue[] }
  | { type: "map"; entries: [RespValue, RespValue][] }
  | { type: "set"; items: RespValue[] }
  | { type: "push"; items: RespValue[] }
  | { type: "double"; value: number }
  | { type: "boolean"; value: boolean }
  | { type: "verbatim"; format: string; text: string }
  | { type: "bignum"; text: string };

/** Bounds of the reply decoder. */
export interface RespReplyLimits {
  bulkBytesMax: number;
  aggregateCountMax: number;
  depthMax: number;
}

export const DEFAULT_RESP_REPLY_LIMITS: Readonly<RespReplyLimits> = {
  bulkBytesMax: 512 * 1024 * 1024,
  aggregateCountMax: 16 * 1024 * 1024,
  depthMax: 64,
};

/** A malformed reply stream (the connection must be dropped). */
export class RespReplyError extends Error {
  readonly code = "resp_reply_malformed";
  constructor(message: string) {
    super(message);
    this.name = "RespReplyError";
  }
}

const CR = 13;
const LF = 10;
const decoder = new TextDecoder();
const INCOMPLETE = Symbol("incomplete");

/** Decodes a stream of replies; `next()` returns the next complete one or null. */
export class RespReplyParser {
  private readonly input = new InputBuffer();
  private readonly limits: RespReplyLimits;
  private pos = 0;

  constructor(limits: Partial<RespReplyLimits> = {}) {
    this.limits = { ...DEFAULT_RESP_REPLY_LIMITS, ...limits };
  }

  /** Adds received bytes. */
  push(chunk: Uint8Array): void {
    this.input.append(chunk);
  }

  /** push() then every reply now complete. */
  feed(chunk: Uint8Array): RespValue[] {
    this.push(chunk);
    const out: RespValue[] = [];
    for (let v = this.next(); v !== null; v = this.next()) out.push(v);
    return out;
  }

  /** The next complete reply, or null; throws RespReplyError on a malformed stream. */
  next(): RespValue | null {
    this.pos = 0;
    const value = this.value(0);
    if (value === INCOMPLETE) {
      this.input.detach();
      return null;
    }
    this.input.consume(this.pos);
    return value;
  }

  /** The line at pos (without CRLF), advancing past it. */
  private line(): string | typeof INCOMPLETE {
    const cr = this.input.indexOf(CR, this.pos, this.input.length);
    if (cr === -1 || cr + 1 >= this.input.length) return INCOMPLETE;
    if (this.input.at(cr + 1) !== LF) throw new RespReplyError(`Cannot decode a reply: CR without LF at offset ${cr}`);
    const text = decoder.decode(this.input.view(this.pos, cr));
    this.pos = cr + 2;
    return text;
  }

  private count(text: string, what: string, max: number): number {
    if (!/^-?[0-9]+$/.test(text)) throw new RespReplyError(`Cannot decode a reply: ${what} ${JSON.stringify(text)} is not an integer`);
    const n = Number(text);
    if (n > max) throw new RespReplyError(`Cannot decode a reply: ${what} ${n} is over the limit ${max}`);
    return n;
  }

  private items(n: number, depth: number): RespValue[] | typeof INCOMPLETE {
    const items: RespValue[] = [];
    for (let i = 0; i < n; i++) {
      const v = this.value(depth + 1);
      if (v === INCOMPLETE) return INCOMPLETE;
      items.push(v);
    }
    return items;
  }

  private value(depth: number): RespValue | typeof INCOMPLETE {
    if (depth > this.limits.depthMax) throw new RespReplyError(`Cannot decode a reply: nested deeper than ${this.limits.depthMax}`);
    if (this.pos >= this.input.length) return INCOMPLETE;
    const marker = String.fromCharCode(this.input.at(this.pos));
    this.pos++;
    const text = this.line();
    if (text === INCOMPLETE) return INCOMPLETE;
    switch (marker) {
      case "+":
        return { type: "simple", text };
      case "-":
        return { type: "error", text };
      case ":": {
        const value = parseRedisBigInt(new TextEncoder().encode(text));
        if (value === null) throw new RespReplyError(`Cannot decode a reply: integer ${JSON.stringify(text)} is malformed`);
        return { type: "integer", value };
      }
      case "_":
        return { type: "null" };
      case "#":
        if (text !== "t" && text !== "f") throw new RespReplyError(`Cannot decode a reply: boolean ${JSON.stringify(text)}`);
        return { type: "boolean", value: text === "t" };
      case ",":
        return { type: "double", value: text === "inf" ? Infinity : text === "-inf" ? -Infinity : text === "nan" ? NaN : Number(text) };
      case "(":
        return { type: "bignum", text };
      case "$":
      case "=": {
        const n = this.count(text, "bulk length", this.limits.bulkBytesMax);
        if (n < 0) return { type: "null" };
        if (this.input.length < this.pos + n + 2) return INCOMPLETE;
        const bytes = this.input.copy(this.pos, this.pos + n);
        if (this.input.at(this.pos + n) !== CR || this.input.at(this.pos + n + 1) !== LF) throw new RespReplyError("Cannot decode a reply: bulk data not followed by CRLF");
        this.pos += n + 2;
        if (marker === "$") return { type: "bulk", value: bytes };
        const all = decoder.decode(bytes);
        return { type: "verbatim", format: all.slice(0, 3), text: all.slice(4) };
      }
      case "*":
      case "~":
      case ">": {
        const n = this.count(text, "aggregate length", this.limits.aggregateCountMax);
        if (n < 0) return { type: "null" };
        const items = this.items(n, depth);
        if (items === INCOMPLETE) return INCOMPLETE;
        return marker === "*" ? { type: "array", items } : marker === "~" ? { type: "set", items } : { type: "push", items };
      }
      case "%": {
        const n = this.count(text, "map length", this.limits.aggregateCountMax);
        const flat = this.items(n * 2, depth);
        if (flat === INCOMPLETE) return INCOMPLETE;
        const entries: [RespValue, RespValue][] = [];
        for (let i = 0; i < flat.length; i += 2) entries.push([flat[i] as RespValue, flat[i + 1] as RespValue]);
        return { type: "map", entries };
      }
      default:
        throw new RespReplyError(`Cannot decode a reply: unknown type byte ${JSON.stringify(marker)}`);
    }
  }
}
