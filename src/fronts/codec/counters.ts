// The arithmetic of Redis INCR/INCRBY/DECR/DECRBY and memcached incr/decr, with each one's rules
// for what counts as a number, how overflow behaves and how errors read. Pure: the runtime reads
// the current value, calls these, and writes the result back in a txn guarded by modRevision.
import { parseRedisBigInt } from "./decimal.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MOD = 2n ** 64n;
const encoder = new TextEncoder();

export const COUNTER_ERRORS = {
  redisNotInteger: "ERR value is not an integer or out of range",
  redisOverflow: "ERR increment or decrement would overflow",
  redisDecrementOverflow: "ERR decrement would overflow",
  memcachedNonNumeric: "CLIENT_ERROR cannot increment or decrement non-numeric value",
} as const;

/** A counter result: the new value and its stored text, or the error to reply. */
export type CounterResult = { ok: true; value: bigint; text: Uint8Array } | { ok: false; error: string };

/**
 * Redis INCRBY: `current` (null: a missing key, taken as 0) must be a strict int64 decimal; the
 * sum must stay in int64. `delta` is the already-parsed argument; DECRBY passes decrement = true.
 */
export function redisIncrBy(current: Uint8Array | null, delta: bigint, decrement = false): CounterResult {
  if (decrement && delta === INT64_MIN) return { ok: false, error: COUNTER_ERRORS.redisDecrementOverflow };
  const base = current === null ? 0n : parseRedisBigInt(current);
  if (base === null) return { ok: false, error: COUNTER_ERRORS.redisNotInteger };
  const value = base + (decrement ? -delta : delta);
  if (value < INT64_MIN || value > INT64_MAX) return { ok: false, error: COUNTER_ERRORS.redisOverflow };
  return { ok: true, value, text: encoder.encode(value.toString()) };
}

/**
 * memcached incr/decr (do_add_delta): the stored value must read as an unsigned 64-bit decimal
 * (strtoull: leading spaces, then digits, then nothing or spaces); incr wraps around 2^64, decr
 * stops at 0.
 */
export function memcachedIncr(current: Uint8Array, delta: bigint, incr: boolean): CounterResult {
  const base = memcachedNumber(current);
  if (base === null) return { ok: false, error: COUNTER_ERRORS.memcachedNonNumeric };
  const value = incr ? (base + delta) % UINT64_MOD : base > delta ? base - delta : 0n;
  return { ok: true, value, text: encoder.encode(value.toString()) };
}

function memcachedNumber(bytes: Uint8Array): bigint | null {
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i] as number)) i++;
  const start = i;
  while (i < bytes.length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39) i++;
  const end = i;
  while (i < bytes.length && isSpace(bytes[i] as number)) i++;
  if (end === start || i !== bytes.length || end - start > 20) return null;
  let text = "";
  for (let j = start; j < end; j++) text += String.fromCharCode(bytes[j] as number);
  const value = BigInt(text);
  return value < UINT64_MOD ? value : null;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
