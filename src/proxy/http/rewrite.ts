// Builds the head sent upstream (and the head sent back to the client) from the parsed original:
// the original bytes are copied in as few pieces as possible, hop-by-hop fields are left out, and
// the proxy's own lines are appended before the final CRLF. One Buffer per head, one copy.
import {
  KIND_CONNECTION, KIND_KEEP_ALIVE, KIND_OTHER, KIND_PROXY_CONNECTION, KIND_TE, KIND_TRAILER, KIND_UPGRADE,
  KIND_X_FORWARDED_FOR, KIND_X_FORWARDED_HOST, KIND_X_FORWARDED_PROTO,
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
  for (let i = 0; i < p.headerCount; i++) {
    const k = p.kind[i]!;
    let d = 0;
    if (k === KIND_CONNECTION || k === KIND_KEEP_ALIVE || k === KIND_PROXY_CONNECTION || k === KIND_TE ||
      k === KIND_TRAILER) d = 1;
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

/** Copies the head minus dropped fields and minus the final CRLF, then appends `extra`. */
function assemble(p: HeadParser, drop: Uint8Array | null, extra: string): Buffer {
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
  const out = Buffer.allocUnsafe(size + extra.length);
  let pos: number;
  if (drop === null) pos = head.copy(out, 0, p.headStart, bodyEnd);
  else {
    pos = head.copy(out, 0, p.headStart, firstFieldStart);
    // Copy runs of kept lines in one go.
    let runStart = -1;
    for (let i = 0; i < p.headerCount; i++) {
      if (drop[i] === 0) {
        if (runStart < 0) runStart = p.nameStart[i]!;
      } else if (runStart >= 0) {
        pos += head.copy(out, pos, runStart, p.nameStart[i]!);
        runStart = -1;
      }
    }
    if (runStart >= 0) pos += head.copy(out, pos, runStart, p.lineEnd[p.headerCount - 1]!);
  }
  out.write(extra, pos, "latin1");
  return out;
}

/** Facts about the client side that go into X-Forwarded-* fields. */
export interface ForwardedFacts {
  readonly clientIp: string;
  /** "http" or "https". */
  readonly proto: string;
  readonly websocket: boolean;
}

/**
 * Head for the upstream request: hop-by-hop fields removed, X-Forwarded-For appended to, -Proto
 * and -Host set, Connection set for websocket upgrades and HTTP/1.0 keep-alive.
 */
export function buildRequestHead(p: HeadParser, facts: ForwardedFacts, drop: Uint8Array): Buffer {
  let priorXff = "";
  for (let i = 0; i < p.headerCount; i++) {
    if (p.kind[i] === KIND_X_FORWARDED_FOR) {
      const v = p.fieldValue(i);
      if (v !== "") priorXff = priorXff === "" ? v : `${priorXff}, ${v}`;
    }
  }
  let extra = priorXff === ""
    ? `X-Forwarded-For: ${facts.clientIp}\r\nX-Forwarded-Proto: ${facts.proto}\r\n`
    : `X-Forwarded-For: ${priorXff}, ${facts.clientIp}\r\nX-Forwarded-Proto: ${facts.proto}\r\n`;
  if (p.hostIndex >= 0) extra += `X-Forwarded-Host: ${p.host()}\r\n`;
  if (facts.websocket) extra += "Connection: Upgrade\r\n";
  else if (p.versionMinor === 0) extra += "Connection: keep-alive\r\n";
  extra += "\r\n";
  if (p.specialCount === 0) return assemble(p, null, extra);
  const dropped = markDrops(p, drop, facts.websocket, true);
  return assemble(p, dropped > 0 ? drop : null, extra);
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
  let extra = "";
  if (p.statusCode === 101) extra = "Connection: Upgrade\r\n";
  else if (!keepClient) extra = "Connection: close\r\n";
  else if (clientMinor === 0) extra = "Connection: keep-alive\r\n";
  return assemble(p, dropped > 0 ? drop : null, `${extra}\r\n`);
}
