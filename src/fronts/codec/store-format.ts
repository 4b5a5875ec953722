// How front keys and values are laid out in the replicated store — a proposal for the integration
// (see README "What the integration needs"), pure and tested so the runtime only has to call it.
//
// Keys: store keys are UTF-8 strings; RESP and memcached-binary keys are any bytes. A front key is
// stored under a namespace prefix with printable ASCII kept and every other byte (and '%') written
// %XX, which is injective and reversible (SCAN/KEYS decode it back).
//
// Values: one store value per front key, a 14-byte header then the payload:
//   [0] format version (1) · [1] type (0 string, 1 hash) · [2..9] expireAtMs, Unix ms, uint64 BE,
//   0 = never · [10..13] memcached client flags, uint32 BE · [14..] payload.
// A hash payload is its fields as (uvarint length, bytes) pairs. Expiry lives in the value, so it is
// replicated, persisted and survives leader changes with no per-key lease.
import { ByteReader, ByteWriter } from "../../kv/bytes.js";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../../kv/limits.js";

export const ENTRY_FORMAT_VERSION = 1;
export const ENTRY_HEADER_BYTES = 14;
/** Largest payload that fits in one store value with its header. */
export const ENTRY_PAYLOAD_BYTES_MAX = MAX_VALUE_BYTES - ENTRY_HEADER_BYTES;

const PERCENT = 0x25;
const HEX = "0123456789ABCDEF";

/** A namespace prefix: "/phalanx/fronts/redis/<db>/" or "/phalanx/fronts/memcached/". */
export function frontPrefix(front: "redis" | "memcached", db = 0): string {
  if (!Number.isSafeInteger(db) || db < 0) throw new Error(`Cannot build a key prefix for database ${db}: not a non-negative integer`);
  return front === "redis" ? `/phalanx/fronts/redis/${db}/` : "/phalanx/fronts/memcached/";
}

/** The store key of a front key: printable ASCII but '%' kept, other bytes %XX. */
export function storeKeyOf(prefix: string, key: Uint8Array): string {
  let s = prefix;
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    s += b > 0x20 && b < 0x7f && b !== PERCENT ? String.fromCharCode(b) : `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return s;
}

/** Whether a front key's store key fits the store's key limit (the caller answers an error if not). */
export function storeKeyFits(prefix: string, key: Uint8Array): boolean {
  let n = prefix.length; // prefixes are ASCII
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    n += b > 0x20 && b < 0x7f && b !== PERCENT ? 1 : 3;
  }
  return n <= MAX_KEY_BYTES;
}

/** The front key of a store key under `prefix`, or null if it is not one this codec wrote. */
export function frontKeyOf(prefix: string, storeKey: string): Uint8Array | null {
  if (!storeKey.startsWith(prefix)) return null;
  const out: number[] = [];
  for (let i = prefix.length; i < storeKey.length; i++) {
    const c = storeKey.charCodeAt(i);
    if (c === PERCENT) {
      const hi = HEX.indexOf(storeKey[i + 1] ?? "");
      const lo = HEX.indexOf(storeKey[i + 2] ?? "");
      if (hi < 0 || lo < 0) return null;
      out.push(hi * 16 + lo);
      i += 2;
    } else if (c > 0x20 && c < 0x7f) {
      out.push(c);
    } else {
      return null;
    }
  }
  return Uint8Array.from(out);
}

/** A decoded value. */
export type FrontEntry =
  | { type: "string"; expireAtMs: number; flags: number; value: Uint8Array }
  | { type: "hash"; expireAtMs: number; flags: number; fields: Map<string, Uint8Array> };

/** Encodes an entry; throws if the expiry is not a safe non-negative integer (a caller bug). */
export function encodeEntry(entry: FrontEntry): Uint8Array {
  if (!Number.isSafeInteger(entry.expireAtMs) || entry.expireAtMs < 0) throw new Error(`Cannot encode expiry ${entry.expireAtMs}: not a non-negative safe integer`);
  const payload = entry.type === "string" ? entry.value : encodeHash(entry.fields);
  const out = new Uint8Array(ENTRY_HEADER_BYTES + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, ENTRY_FORMAT_VERSION);
  dv.setUint8(1, entry.type === "string" ? 0 : 1);
  dv.setBigUint64(2, BigInt(entry.expireAtMs));
  dv.setUint32(10, entry.flags >>> 0);
  out.set(payload, ENTRY_HEADER_BYTES);
  return out;
}

/** Hash fields are kept as latin1 strings (one char per byte, lossless) so a Map can key them. */
function encodeHash(fields: Map<string, Uint8Array>): Uint8Array {
  const w = new ByteWriter();
  w.uvarint(fields.size);
  for (const [field, value] of fields) {
    w.bytes(Uint8Array.from(field, (ch) => ch.charCodeAt(0) & 0xff));
    w.bytes(value);
  }
  return w.finish();
}

/** Decodes a stored value, or null when it is not one this codec wrote (answer an error, never a miss). */
export function decodeEntry(bytes: Uint8Array): FrontEntry | null {
  if (bytes.length < ENTRY_HEADER_BYTES || bytes[0] !== ENTRY_FORMAT_VERSION) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint8(1);
  const expireAt = dv.getBigUint64(2);
  if (expireAt > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const expireAtMs = Number(expireAt);
  const flags = dv.getUint32(10);
  const payload = bytes.subarray(ENTRY_HEADER_BYTES);
  if (type === 0) return { type: "string", expireAtMs, flags, value: payload };
  if (type !== 1) return null;
  try {
    const r = new ByteReader(payload);
    const fields = new Map<string, Uint8Array>();
    for (let n = r.uvarint(); n > 0; n--) {
      const field = r.bytes();
      let name = "";
      for (let i = 0; i < field.length; i++) name += String.fromCharCode(field[i] as number);
      fields.set(name, r.bytes());
    }
    return r.done ? { type: "hash", expireAtMs, flags, fields } : null;
  } catch {
    // ByteReader throws on truncation: the value is not ours or is damaged; the caller reports it.
    return null;
  }
}

/**
 * Whether an entry counts as gone at `nowMs`. `clockSkewMarginMs` hides keys that early, so a node
 * whose clock lags the leader's by up to the margin still never returns an expired key.
 */
export function isExpired(entry: { expireAtMs: number }, nowMs: number, clockSkewMarginMs: number): boolean {
  return entry.expireAtMs !== 0 && entry.expireAtMs <= nowMs + clockSkewMarginMs;
}

/** Redis TTL/PTTL: -2 no key, -1 no expiry, else the time left (TTL rounds to the nearest second, as Redis). */
export function ttlReply(entry: { expireAtMs: number } | null, nowMs: number, unit: "s" | "ms"): number {
  if (entry === null) return -2;
  if (entry.expireAtMs === 0) return -1;
  const leftMs = Math.max(0, entry.expireAtMs - nowMs);
  return unit === "ms" ? leftMs : Math.floor((leftMs + 500) / 1000);
}
