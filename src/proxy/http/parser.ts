// Incremental, strict HTTP/1.1 head parser (request line or status line plus header fields).
// It parses only what framing and routing need and records the offsets of every header line so
// the head can be forwarded nearly byte for byte. It can be fed any split of the input, down to
// one byte at a time; a head that arrives in one chunk is parsed in place without copying.
// Anything ambiguous (bare LF, obs-fold, whitespace before the colon, CL with TE, duplicate CL,
// a transfer coding other than chunked, control bytes in values) fails the parse: the caller
// answers 400 and closes, and nothing is forwarded. A framing field (Content-Length,
// Transfer-Encoding) that is valid but not in canonical bytes sets `framingRewrite`: the head is
// then forwarded with that line replaced by one the proxy writes itself (see rewrite.ts), so no
// parser downstream ever sees whitespace, case or leading zeros that this parser had to normalise.
import { Buffer } from "node:buffer";

/** Returned by feed() while the head is incomplete. */
export const NEED_MORE = -1;
/** Returned by feed() when the head is invalid; `errorStatus` and `errorReason` say why. */
export const FAILED = -2;

/** Header kinds the proxy acts on; everything else is KIND_OTHER and forwarded as is. */
export const KIND_OTHER = 0;
export const KIND_HOST = 1;
export const KIND_CONTENT_LENGTH = 2;
export const KIND_TRANSFER_ENCODING = 3;
export const KIND_CONNECTION = 4;
export const KIND_KEEP_ALIVE = 5;
export const KIND_PROXY_CONNECTION = 6;
export const KIND_TE = 7;
export const KIND_TRAILER = 8;
export const KIND_UPGRADE = 9;
export const KIND_X_FORWARDED_FOR = 10;
export const KIND_X_FORWARDED_PROTO = 11;
export const KIND_X_FORWARDED_HOST = 12;

/** Methods the proxy distinguishes (idempotency, HEAD bodies, CONNECT refusal). */
export const METHOD_OTHER = 0;
export const METHOD_GET = 1;
export const METHOD_HEAD = 2;
export const METHOD_POST = 3;
export const METHOD_PUT = 4;
export const METHOD_DELETE = 5;
export const METHOD_OPTIONS = 6;
export const METHOD_TRACE = 7;
export const METHOD_CONNECT = 8;

/** Bound on header fields in one head: more is refused like an oversized head. */
export const MAX_HEADER_FIELDS = 128;
/** Bound on empty lines tolerated before a request line (RFC 9112 §2.2 robustness). */
const MAX_LEADING_EMPTY_LINES = 4;
/** Bound on the method token. */
const MAX_METHOD_BYTES = 32;
/** Bound on Content-Length digits: 15 digits stay exact in a double. */
const MAX_CONTENT_LENGTH_DIGITS = 15;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

/** tchar (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}
/** Bytes allowed inside a field value: VCHAR, SP, HTAB, obs-text. CR ends the value. */
const VALUE_CHAR = new Uint8Array(256);
VALUE_CHAR[HTAB] = 1;
for (let b = 0x20; b <= 0xff; b++) if (b !== 0x7f) VALUE_CHAR[b] = 1;
/** Bytes allowed in a request target: visible ASCII only (no spaces, controls or raw 8-bit). */
const TARGET_CHAR = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) TARGET_CHAR[b] = 1;

/** Case-insensitive compare of buf[start, start+lit.length) with a lowercase literal. */
function matchLower(buf: Buffer, start: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) {
    if ((buf[start + k]! | 0x20) !== lit.charCodeAt(k)) return false;
  }
  return true;
}

/** Exact (case-sensitive) compare of buf[start, start+lit.length) with an ASCII literal. */
function matchExact(buf: Buffer, start: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) {
    if (buf[start + k] !== lit.charCodeAt(k)) return false;
  }
  return true;
}

function classify(buf: Buffer, start: number, len: number): number {
  switch (len) {
    case 2: return matchLower(buf, start, "te") ? KIND_TE : KIND_OTHER;
    case 4: return matchLower(buf, start, "host") ? KIND_HOST : KIND_OTHER;
    case 7:
      if (matchLower(buf, start, "upgrade")) return KIND_UPGRADE;
      return matchLower(buf, start, "trailer") ? KIND_TRAILER : KIND_OTHER;
    case 10:
      if (matchLower(buf, start, "connection")) return KIND_CONNECTION;
      return matchLower(buf, start, "keep-alive") ? KIND_KEEP_ALIVE : KIND_OTHER;
    case 14: return matchLower(buf, start, "content-length") ? KIND_CONTENT_LENGTH : KIND_OTHER;
    case 15: return matchLower(buf, start, "x-forwarded-for") ? KIND_X_FORWARDED_FOR : KIND_OTHER;
    case 16:
      if (matchLower(buf, start, "proxy-connection")) return KIND_PROXY_CONNECTION;
      return matchLower(buf, start, "x-forwarded-host") ? KIND_X_FORWARDED_HOST : KIND_OTHER;
    case 17:
      if (matchLower(buf, start, "transfer-encoding")) return KIND_TRANSFER_ENCODING;
      return matchLower(buf, start, "x-forwarded-proto") ? KIND_X_FORWARDED_PROTO : KIND_OTHER;
    default: return KIND_OTHER;
  }
}

function methodCode(buf: Buffer, start: number, len: number): number {
  switch (len) {
    case 3:
      if (buf[start] === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return METHOD_GET;
      if (buf[start] === 0x50 && buf[start + 1] === 0x55 && buf[start + 2] === 0x54) return METHOD_PUT;
      return METHOD_OTHER;
    case 4:
      if (matchExact(buf, start, "HEAD")) return METHOD_HEAD;
      return matchExact(buf, start, "POST") ? METHOD_POST : METHOD_OTHER;
    case 5: return matchExact(buf, start, "TRACE") ? METHOD_TRACE : METHOD_OTHER;
    case 6: return matchExact(buf, start, "DELETE") ? METHOD_DELETE : METHOD_OTHER;
    case 7:
      if (matchExact(buf, start, "OPTIONS")) return METHOD_OPTIONS;
      return matchExact(buf, start, "CONNECT") ? METHOD_CONNECT : METHOD_OTHER;
    default: return METHOD_OTHER;
  }
}

/** Whether a method may be retried on another backend (RFC 9110 §9.2.2). */
export function isIdempotentMethod(method: number): boolean {
  return method === METHOD_GET || method === METHOD_HEAD || method === METHOD_OPTIONS ||
    method === METHOD_PUT || method === METHOD_DELETE || method === METHOD_TRACE;
}

/**
 * Parses one request or response head at a time. After feed() returns an offset, the fields below
 * describe the head, whose bytes are `head[headStart, headEnd)`; they stay valid until reset().
 */
export class HeadParser {
  readonly isRequest: boolean;
  maxHeadBytes: number;

  head: Buffer = CRLFCRLF;
  headStart = 0;
  headEnd = 0;
  /** Request: METHOD_* code and the raw method/target offsets. */
  method = METHOD_OTHER;
  methodEnd = 0;
  targetStart = 0;
  targetEnd = 0;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;
  /** Response: the status code. */
  statusCode = 0;
  headerCount = 0;
  readonly nameStart = new Int32Array(MAX_HEADER_FIELDS);
  readonly nameEnd = new Int32Array(MAX_HEADER_FIELDS);
  readonly valueStart = new Int32Array(MAX_HEADER_FIELDS);
  readonly valueEnd = new Int32Array(MAX_HEADER_FIELDS);
  /** End of the whole line including its CRLF. */
  readonly lineEnd = new Int32Array(MAX_HEADER_FIELDS);
  readonly kind = new Uint8Array(MAX_HEADER_FIELDS);
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  hostCount = 0;
  /** Index of the Host field, -1 when absent. */
  hostIndex = -1;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** Connection lists field names other than close/keep-alive/upgrade (they must be removed). */
  connOther = false;
  upgradeWebsocket = false;
  /** Count of fields the proxy may have to remove or replace (hop-by-hop, X-Forwarded-*, non-canonical framing). */
  specialCount = 0;
  /**
   * The Content-Length or Transfer-Encoding line is not in canonical bytes (`Content-Length: <digits
   * without leading zeros>` or `Transfer-Encoding: chunked`, name in that case or all lowercase, one
   * SP, nothing after the value): it must be re-emitted, never forwarded as received.
   */
  framingRewrite = false;

  errorStatus = 0;
  errorReason = "";

  private acc: Buffer | null = null;
  private accLength = 0;
  private leadingEmptyLines = 0;
  private pendingLeadingCr = false;

  constructor(isRequest: boolean, maxHeadBytes: number) {
    this.isRequest = isRequest;
    this.maxHeadBytes = maxHeadBytes;
  }

  /** Forgets the previous head; call before parsing the next message on the connection. */
  reset(): void {
    this.accLength = 0;
    this.leadingEmptyLines = 0;
    this.pendingLeadingCr = false;
    this.resetFields();
  }

  private resetFields(): void {
    this.headerCount = 0;
    this.contentLength = -1;
    this.chunked = false;
    this.hostCount = 0;
    this.hostIndex = -1;
    this.connClose = false;
    this.connKeepAlive = false;
    this.connUpgrade = false;
    this.connOther = false;
    this.upgradeWebsocket = false;
    this.specialCount = 0;
    this.framingRewrite = false;
    this.method = METHOD_OTHER;
    this.statusCode = 0;
    this.versionMinor = 1;
    this.errorStatus = 0;
    this.errorReason = "";
  }

  /** True once some bytes of a head arrived (the slowloris timer runs from then). */
  hasPartialHead(): boolean {
    return this.accLength > 0 || this.pendingLeadingCr;
  }

  /**
   * Feeds `chunk[start..]`. Returns the offset in `chunk` just past the head (the body or the next
   * message starts there), NEED_MORE when every byte was taken and the head is still incomplete,
   * or FAILED.
   */
  feed(chunk: Buffer, start: number): number {
    if (this.accLength === 0) {
      if (this.isRequest) {
        start = this.skipLeadingEmptyLines(chunk, start);
        if (start < 0) return start;
      }
      const len = chunk.length;
      if (start >= len) return NEED_MORE;
      const maxEnd = start + this.maxHeadBytes;
      const r = this.parseHead(chunk, start, len < maxEnd ? len : maxEnd);
      if (r !== NEED_MORE) return r;
      if (len > maxEnd) return this.tooLarge();
      return this.accumulate(chunk, start, len - start);
    }
    const prev = this.accLength;
    const room = this.maxHeadBytes - prev;
    const available = chunk.length - start;
    const take = available < room ? available : room;
    const acc = this.acc!;
    chunk.copy(acc, prev, start, start + take);
    this.accLength = prev + take;
    const end = acc.subarray(0, this.accLength).indexOf(CRLFCRLF, prev > 3 ? prev - 3 : 0);
    if (end !== -1) {
      const headEnd = end + 4;
      const r = this.parseHead(acc, 0, headEnd);
      if (r === NEED_MORE) return this.fail(400, "Malformed head");
      return r < 0 ? r : start + (headEnd - prev);
    }
    if (available > room) return this.tooLarge();
    return this.checkNoBareLf(prev) ? NEED_MORE : FAILED;
  }

  private skipLeadingEmptyLines(chunk: Buffer, start: number): number {
    if (this.pendingLeadingCr) {
      if (start >= chunk.length) return start;
      if (chunk[start] !== LF) return this.fail(400, "Bare CR before the request line");
      this.pendingLeadingCr = false;
      start++;
    }
    while (start < chunk.length && chunk[start] === CR) {
      if (++this.leadingEmptyLines > MAX_LEADING_EMPTY_LINES) return this.fail(400, "Too many empty lines before the request line");
      if (start + 1 >= chunk.length) {
        this.pendingLeadingCr = true;
        return chunk.length;
      }
      if (chunk[start + 1] !== LF) return this.fail(400, "Bare CR before the request line");
      start += 2;
    }
    if (start < chunk.length && chunk[start] === LF) return this.fail(400, "Bare LF before the request line");
    return start;
  }

  private accumulate(chunk: Buffer, start: number, length: number): number {
    if (this.acc === null || this.acc.length < this.maxHeadBytes) this.acc = Buffer.allocUnsafe(this.maxHeadBytes);
    chunk.copy(this.acc, 0, start, start + length);
    this.accLength = length;
    return this.checkNoBareLf(0) ? NEED_MORE : FAILED;
  }

  /** Early refusal of bare LF in a partial head, so such a client does not wait for a timeout. */
  private checkNoBareLf(from: number): boolean {
    const acc = this.acc!;
    const end = this.accLength;
    for (let i = from; i < end; i++) {
      const b = acc[i]!;
      if (b === LF && (i === 0 || acc[i - 1] !== CR)) return this.reject(400, "Bare LF in the head");
      if (b === 0) return this.reject(400, "NUL byte in the head");
    }
    return true;
  }

  private tooLarge(): number {
    return this.fail(431, `Head is larger than ${this.maxHeadBytes} bytes`);
  }

  private reject(status: number, reason: string): false {
    this.fail(status, reason);
    return false;
  }

  private fail(status: number, reason: string): number {
    this.errorStatus = status;
    this.errorReason = reason;
    return FAILED;
  }

  /**
   * Parses a head starting at `buf[start]` in one pass, reading no further than `limit`. Returns
   * the offset just past the head, NEED_MORE when `limit` came first, or FAILED.
   */
  private parseHead(buf: Buffer, start: number, limit: number): number {
    this.resetFields();
    this.head = buf;
    this.headStart = start;
    let i = this.isRequest ? this.parseRequestLine(buf, start, limit) : this.parseStatusLine(buf, start, limit);
    if (i < 0) return i;
    let count = 0;
    for (;;) {
      if (i >= limit) return NEED_MORE;
      let b = buf[i]!;
      if (b === CR) {
        if (i + 1 >= limit) return NEED_MORE;
        if (buf[i + 1] !== LF) return this.fail(400, "Malformed end of head");
        i += 2;
        break;
      }
      if (b === SP || b === HTAB) return this.fail(400, "Obsolete line folding is not accepted");
      const ns = i;
      while (i < limit && TCHAR[buf[i]!] === 1) i++;
      if (i >= limit) return NEED_MORE;
      if (i === ns) return this.fail(400, b === LF ? "Bare LF in the head" : "Invalid character in a header name");
      b = buf[i]!;
      if (b !== COLON) {
        return this.fail(400, b === SP || b === HTAB ? "Whitespace before the colon of a header" : "Invalid character in a header name");
      }
      const ne = i;
      i++;
      while (i < limit && (buf[i] === SP || buf[i] === HTAB)) i++;
      const vs = i;
      while (i < limit && VALUE_CHAR[buf[i]!] === 1) i++;
      if (i >= limit) return NEED_MORE;
      if (buf[i] !== CR) return this.fail(400, buf[i] === LF ? "Bare LF in the head" : "Invalid character in a header value");
      if (i + 1 >= limit) return NEED_MORE;
      if (buf[i + 1] !== LF) return this.fail(400, "Bare CR in the head");
      let ve = i;
      while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
      i += 2;
      if (count === MAX_HEADER_FIELDS) return this.fail(431, `More than ${MAX_HEADER_FIELDS} header fields`);
      const k = classify(buf, ns, ne - ns);
      this.nameStart[count] = ns;
      this.nameEnd[count] = ne;
      this.valueStart[count] = vs;
      this.valueEnd[count] = ve;
      this.lineEnd[count] = i;
      this.kind[count] = k;
      if (k !== KIND_OTHER && !this.applyField(k, buf, vs, ve, count)) return FAILED;
      count++;
    }
    this.headerCount = count;
    this.headEnd = i;
    return this.checkFraming() ? i : FAILED;
  }

  private parseRequestLine(buf: Buffer, start: number, limit: number): number {
    let i = start;
    while (i < limit && TCHAR[buf[i]!] === 1) i++;
    if (i - start > MAX_METHOD_BYTES) return this.fail(400, "Malformed request line");
    if (i >= limit) return NEED_MORE;
    if (i === start || buf[i] !== SP) return this.fail(400, "Malformed request line");
    this.methodEnd = i;
    this.method = methodCode(buf, start, i - start);
    i++;
    this.targetStart = i;
    while (i < limit && TARGET_CHAR[buf[i]!] === 1) i++;
    if (i >= limit) return NEED_MORE;
    if (i === this.targetStart || buf[i] !== SP) return this.fail(400, "Malformed request target");
    this.targetEnd = i;
    i++;
    if (i + 10 > limit) return NEED_MORE;
    i = this.parseVersion(buf, i);
    if (i < 0) return i;
    if (buf[i] !== CR || buf[i + 1] !== LF) return this.fail(400, "Malformed request line");
    return i + 2;
  }

  private parseStatusLine(buf: Buffer, start: number, limit: number): number {
    if (start + 14 > limit) return NEED_MORE;
    let i = this.parseVersion(buf, start);
    if (i < 0) return i;
    if (buf[i] !== SP) return this.fail(502, "Malformed status line");
    i++;
    const d0 = buf[i]! - 0x30, d1 = buf[i + 1]! - 0x30, d2 = buf[i + 2]! - 0x30;
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return this.fail(502, "Malformed status code");
    this.statusCode = d0 * 100 + d1 * 10 + d2;
    i += 3;
    if (buf[i] === SP) {
      i++;
      while (i < limit && VALUE_CHAR[buf[i]!] === 1) i++;
    }
    if (i + 1 >= limit) return NEED_MORE;
    if (buf[i] !== CR || buf[i + 1] !== LF) return this.fail(502, "Malformed status line");
    return i + 2;
  }

  /** Parses "HTTP/1.0" or "HTTP/1.1" at `i` (the caller checked 8 bytes are there). */
  private parseVersion(buf: Buffer, i: number): number {
    if (buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
      buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e) {
      return this.fail(this.isRequest ? 400 : 502, "Invalid HTTP version");
    }
    const minor = buf[i + 7];
    if (minor !== 0x30 && minor !== 0x31) return this.fail(this.isRequest ? 400 : 502, "Invalid HTTP version");
    this.versionMinor = minor - 0x30;
    return i + 8;
  }

  private applyField(k: number, buf: Buffer, vs: number, ve: number, index: number): boolean {
    const status = this.isRequest ? 400 : 502;
    this.specialCount++;
    switch (k) {
      case KIND_HOST:
        this.hostCount++;
        this.hostIndex = index;
        this.specialCount--;
        return true;
      case KIND_CONTENT_LENGTH: {
        if (this.contentLength !== -1) return this.reject(status, "Duplicate Content-Length");
        const len = ve - vs;
        if (len === 0 || len > MAX_CONTENT_LENGTH_DIGITS) return this.reject(status, "Invalid Content-Length");
        let n = 0;
        for (let j = vs; j < ve; j++) {
          const d = buf[j]! - 0x30;
          if (d < 0 || d > 9) return this.reject(status, "Invalid Content-Length");
          n = n * 10 + d;
        }
        this.contentLength = n;
        // Leading zeros are valid (1*DIGIT) but not canonical.
        if (this.isCanonicalLine(buf, index, "Content-Length", "content-length") && (len === 1 || buf[vs] !== 0x30)) this.specialCount--;
        else this.framingRewrite = true;
        return true;
      }
      case KIND_TRANSFER_ENCODING:
        if (this.chunked) return this.reject(status, "Duplicate Transfer-Encoding");
        if (ve - vs !== 7 || !matchLower(buf, vs, "chunked")) {
          return this.reject(status, "Transfer-Encoding other than chunked is not accepted");
        }
        this.chunked = true;
        if (this.isCanonicalLine(buf, index, "Transfer-Encoding", "transfer-encoding") && matchExact(buf, vs, "chunked")) this.specialCount--;
        else this.framingRewrite = true;
        return true;
      case KIND_CONNECTION:
        this.parseConnection(buf, vs, ve);
        return true;
      case KIND_UPGRADE:
        if (ve - vs === 9 && matchLower(buf, vs, "websocket")) this.upgradeWebsocket = true;
        return true;
      default:
        return true;
    }
  }

  /**
   * Whether field `index` is written `<name>: <value>\r\n` with the name exactly `title` or `lower`,
   * one SP after the colon and nothing between the value and CRLF (the value itself is checked by
   * the caller). Anything else was trimmed or case-folded by this parser and is re-emitted.
   */
  private isCanonicalLine(buf: Buffer, index: number, title: string, lower: string): boolean {
    const ns = this.nameStart[index]!;
    const ne = this.nameEnd[index]!;
    return buf[ne + 1] === SP && this.valueStart[index] === ne + 2 && this.valueEnd[index] === this.lineEnd[index]! - 2 &&
      (matchExact(buf, ns, title) || matchExact(buf, ns, lower));
  }

  private parseConnection(buf: Buffer, vs: number, ve: number): void {
    let j = vs;
    while (j < ve) {
      while (j < ve && (buf[j] === SP || buf[j] === HTAB || buf[j] === 0x2c)) j++;
      const ts = j;
      while (j < ve && buf[j] !== 0x2c) j++;
      let te = j;
      while (te > ts && (buf[te - 1] === SP || buf[te - 1] === HTAB)) te--;
      const len = te - ts;
      if (len === 0) continue;
      if (len === 5 && matchLower(buf, ts, "close")) this.connClose = true;
      else if (len === 10 && matchLower(buf, ts, "keep-alive")) this.connKeepAlive = true;
      else if (len === 7 && matchLower(buf, ts, "upgrade")) this.connUpgrade = true;
      else this.connOther = true;
    }
  }

  private checkFraming(): boolean {
    if (this.chunked && this.contentLength !== -1) {
      return this.reject(this.isRequest ? 400 : 502, "Content-Length together with Transfer-Encoding");
    }
    if (!this.isRequest) return true;
    if (this.chunked && this.versionMinor === 0) return this.reject(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (this.hostCount > 1) return this.reject(400, "More than one Host header");
    if (this.hostCount === 0 && this.versionMinor === 1) return this.reject(400, "Missing Host header");
    return true;
  }

  /** The request target as a string (latin1). */
  target(): string {
    return this.head.toString("latin1", this.targetStart, this.targetEnd);
  }

  /** The method as a string (latin1). */
  methodName(): string {
    return this.head.toString("latin1", this.headStart, this.methodEnd);
  }

  /** The Host value, or "" when absent. */
  host(): string {
    const i = this.hostIndex;
    return i < 0 ? "" : this.head.toString("latin1", this.valueStart[i]!, this.valueEnd[i]!);
  }

  /** Lowercased name of field `i`. */
  fieldName(i: number): string {
    return this.head.toString("latin1", this.nameStart[i]!, this.nameEnd[i]!).toLowerCase();
  }

  /** Value of field `i` (latin1, OWS trimmed). */
  fieldValue(i: number): string {
    return this.head.toString("latin1", this.valueStart[i]!, this.valueEnd[i]!);
  }

  /** First value of the field named `lowerName`, or undefined. */
  findField(lowerName: string): string | undefined {
    for (let i = 0; i < this.headerCount; i++) {
      if (this.nameEnd[i]! - this.nameStart[i]! === lowerName.length && matchLower(this.head, this.nameStart[i]!, lowerName)) {
        return this.fieldValue(i);
      }
    }
    return undefined;
  }
}
