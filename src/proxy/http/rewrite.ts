// Builds the head sent upstream (and the head sent back to the client) from the parsed original:
// the original bytes are copied in as few pieces as possible, hop-by-hop fields are left out, and
// the proxy's own lines are appended before the final CRLF. One Buffer per head, one copy.
// A framing field the parser did not find in canonical bytes (`framingRewrite`) is left out too and
// written again by the proxy as `Transfer-Encoding: chunked` or `Content-Length: <n>`: the bytes a
// backend (or client) frames the message by are always ones this proxy generated or verified.
import { Buffer } from "node:buffer";
import {
  KIND_CONNECTION, KIND_CONTENT_LENGTH, KIND_KEEP_ALIVE, KIND_OTHER, KIND_PROXY_CONNECTION, KIND_TE, KIND_TRAILER, KIND_TRANSFER_ENCODING,
  KIND_UPGRADE, KIND_X_FORWARDED_FOR, KIND_X_FORWARDED_HOST, KIND_X_FORWARDED_PROTO,
} from "./parser.js";
import type { HeadParser } from "./parser.js";

/** Names listed in Connection fields other than close/keep-alive/upgrade, lowercased. */
function connectionListedNames(p: HeadParser): Set<string> {
  const names = new Set<string>();
  for (let i = 0; i < p.headerCount; i++) {
    if (p.kind[i] !== KIND_CONNECTION) continue;
    for (const token of p.fieldValue(i).split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "" && name !== "close" && name !== "keep-alive" && name !== "upgrade") names.add(name);
    }
  }
  return names;
}

/** Marks which fields to drop; returns how many. `drop[i]` is 1 for a dropped field. */
function markDrops(p: HeadParser, drop: Uint8Array, keepUpgrade: boolean, dropForwarded: boolean): number {
  let count = 0;
  const dropFraming = p.framingRewrite;
  for (let i = 0; i < p.headerCount; i++) {
    const k = p.kind[i]!;
    let d = 0;
    if (k === KIND_CONNECTION || k === KIND_KEEP_ALIVE || k === KIND_PROXY_CONNECTION || k === KIND_TE ||
      k === KIND_TRAILER) d = 1;
    else if (k === KIND_CONTENT_LENGTH || k === KIND_TRANSFER_ENCODING) d = dropFraming ? 1 : 0;
    else if (k === KIND_X_FORWARDED_PROTO || k === KIND_X_FORWARDED_HOST || k === KIND_X_FORWARDED_FOR) d = dropForwarded ? 1 : 0;
    else if (k === KIND_UPGRADE) d = keepUpgrade ? 0 : 1;
    drop[i] = d;
    count += d;
  }
  if (p.connOther) {
    const listed = connectionListedNames(p);
    for (let i = 0; i < p.headerCount; i++) {
      if (drop[i] === 0 && p.kind[i] === KIND_OTHER && listed.has(p.fieldName(i))) {
        drop[i] = 1;
        count++;
      }
    }
  }
  return count;
}

/** Copies src[start, end) into dst at pos; short runs in JS, which beats a native call. */
function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, pos: number): number {
  const n = end - start;
  if (n > 64) dst.set(src.subarray(start, end), pos);
  else for (let k = 0; k < n; k++) dst[pos + k] = src[start + k]!;
  return n;
}

const XFH = Buffer.from("X-Forwarded-Host: ", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");
const CANONICAL_CHUNKED = Buffer.from("Transfer-Encoding: chunked\r\n", "latin1");
const CANONICAL_LENGTH = Buffer.from("Content-Length: ", "latin1");

/** Decimal digits of a non-negative integer below 2^53. */
function decimalDigits(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** Bytes of the canonical framing line `p` needs re-emitted, 0 when none. */
function framingLineBytes(p: HeadParser): number {
  if (!p.framingRewrite) return 0;
  if (p.chunked) return CANONICAL_CHUNKED.length;
  return CANONICAL_LENGTH.length + decimalDigits(p.contentLength) + 2;
}

/** Writes the canonical framing line of `p` at `pos` (see framingLineBytes); returns its length. */
function writeFramingLine(p: HeadParser, out: Uint8Array, pos: number): number {
  if (p.chunked) return copyBytes(CANONICAL_CHUNKED, 0, CANONICAL_CHUNKED.length, out, pos);
  let n = copyBytes(CANONICAL_LENGTH, 0, CANONICAL_LENGTH.length, out, pos);
  let value = p.contentLength;
  const digits = decimalDigits(value);
  for (let k = digits - 1; k >= 0; k--) {
    out[pos + n + k] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
  n += digits;
  out[pos + n] = 0x0d;
  out[pos + n + 1] = 0x0a;
  return n + 2;
}

/**
 * Copies the head minus dropped fields and minus the final CRLF, then appends the canonical
 * framing line (when `p.framingRewrite`; the original line is among the dropped), `prefix`, an
 * X-Forwarded-Host line copied from Host field `hostIndex` (when >= 0), and `suffix`.
 */
function assemble(p: HeadParser, drop: Uint8Array | null, prefix: Uint8Array, hostIndex: number, suffix: Uint8Array): Buffer {
  const head = p.head;
  const firstFieldStart = p.headerCount > 0 ? p.nameStart[0]! : p.headEnd - 2;
  const bodyEnd = p.headEnd - 2;
  let size = 0;
  if (drop === null) size = bodyEnd - p.headStart;
  else {
    size = firstFieldStart - p.headStart;
    for (let i = 0; i < p.headerCount; i++) {
      if (drop[i] === 0) size += p.lineEnd[i]! - p.nameStart[i]!;
    }
  }
  const hostStart = hostIndex >= 0 ? p.valueStart[hostIndex]! : 0;
  const hostEnd = hostIndex >= 0 ? p.valueEnd[hostIndex]! : 0;
  const hostLine = hostIndex >= 0 ? XFH.length + (hostEnd - hostStart) + 2 : 0;
  const framingLine = framingLineBytes(p);
  const out = Buffer.allocUnsafe(size + framingLine + prefix.length + hostLine + suffix.length);
  let pos: number;
  if (drop === null) pos = copyBytes(head, p.headStart, bodyEnd, out, 0);
  else {
    pos = copyBytes(head, p.headStart, firstFieldStart, out, 0);
    // Copy runs of kept lines in one go.
    let runStart = -1;
    for (let i = 0; i < p.headerCount; i++) {
      if (drop[i] === 0) {
        if (runStart < 0) runStart = p.nameStart[i]!;
      } else if (runStart >= 0) {
        pos += copyBytes(head, runStart, p.nameStart[i]!, out, pos);
        runStart = -1;
      }
    }
    if (runStart >= 0) pos += copyBytes(head, runStart, p.lineEnd[p.headerCount - 1]!, out, pos);
  }
  if (framingLine > 0) pos += writeFramingLine(p, out, pos);
  pos += copyBytes(prefix, 0, prefix.length, out, pos);
  if (hostIndex >= 0) {
    pos += copyBytes(XFH, 0, XFH.length, out, pos);
    pos += copyBytes(head, hostStart, hostEnd, out, pos);
    pos += copyBytes(CRLF, 0, 2, out, pos);
  }
  copyBytes(suffix, 0, suffix.length, out, pos);
  return out;
}

const SUFFIX_END = Buffer.from("\r\n", "latin1");
const SUFFIX_UPGRADE = Buffer.from("Connection: Upgrade\r\n\r\n", "latin1");
const SUFFIX_KEEP_ALIVE = Buffer.from("Connection: keep-alive\r\n\r\n", "latin1");
const SUFFIX_CLOSE = Buffer.from("Connection: close\r\n\r\n", "latin1");
const EMPTY = new Uint8Array(0);

/** Facts about the client side that go into X-Forwarded-* fields. */
export interface ForwardedFacts {
  readonly clientIp: string;
  /** "http" or "https". */
  readonly proto: string;
  /** "X-Forwarded-For: <clientIp>\r\nX-Forwarded-Proto: <proto>\r\n", built once per connection. */
  readonly prefix: Uint8Array;
  readonly websocket: boolean;
}

/** The per-connection X-Forwarded-For/-Proto lines for a request without a prior X-Forwarded-For. */
export function forwardedPrefix(clientIp: string, proto: string): Buffer {
  return Buffer.from(`X-Forwarded-For: ${clientIp}\r\nX-Forwarded-Proto: ${proto}\r\n`, "latin1");
}

/**
 * Head for the upstream request: hop-by-hop fields removed, X-Forwarded-For appended to, -Proto
 * and -Host set, Connection set for websocket upgrades and HTTP/1.0 keep-alive.
 */
export function buildRequestHead(p: HeadParser, facts: ForwardedFacts, drop: Uint8Array): Buffer {
  let prefix = facts.prefix;
  const suffix = facts.websocket ? SUFFIX_UPGRADE : p.versionMinor === 0 ? SUFFIX_KEEP_ALIVE : SUFFIX_END;
  if (p.specialCount === 0) return assemble(p, null, prefix, p.hostIndex, suffix);
  let priorXff = "";
  for (let i = 0; i < p.headerCount; i++) {
    if (p.kind[i] === KIND_X_FORWARDED_FOR) {
      const v = p.fieldValue(i);
      if (v !== "") priorXff = priorXff === "" ? v : `${priorXff}, ${v}`;
    }
  }
  if (priorXff !== "") {
    prefix = Buffer.from(`X-Forwarded-For: ${priorXff}, ${facts.clientIp}\r\nX-Forwarded-Proto: ${facts.proto}\r\n`, "latin1");
  }
  const dropped = markDrops(p, drop, facts.websocket, true);
  return assemble(p, dropped > 0 ? drop : null, prefix, p.hostIndex, suffix);
}

/**
 * Head for the client, or null when the upstream head can be forwarded unchanged (the common
 * case: no hop-by-hop fields other than a "Connection: keep-alive" that is still true).
 */
export function buildResponseHead(p: HeadParser, keepClient: boolean, clientMinor: number, drop: Uint8Array): Buffer | null {
  const special = p.specialCount;
  if (keepClient && clientMinor === 1 && !p.connClose && !p.connOther && !p.connUpgrade) {
    if (special === 0) return null;
    if (special === 1 && p.connKeepAlive) return null;
  }
  const dropped = special === 0 ? 0 : markDrops(p, drop, p.statusCode === 101, false);
  let suffix: Uint8Array;
  if (p.statusCode === 101) suffix = SUFFIX_UPGRADE;
  else if (!keepClient) suffix = SUFFIX_CLOSE;
  else if (clientMinor === 0) suffix = SUFFIX_KEEP_ALIVE;
  else suffix = SUFFIX_END;
  return assemble(p, dropped > 0 ? drop : null, EMPTY, -1, suffix);
}
