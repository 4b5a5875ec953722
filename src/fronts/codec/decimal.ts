// Strict decimal integer parsing over bytes, as the protocols define it: Redis's string2ll (an
// optional '-', no '+', no leading zeros, no spaces) and memcached's unsigned/signed 32/64-bit
// tokens. Returns null instead of throwing: bad numbers are a client's mistake, not a bug.

const ZERO = 48;
const NINE = 57;
const MINUS = 45;
/** Digits in the largest int64 (9223372036854775807). */
const INT64_DIGITS_MAX = 19;
const INT64_MAX = 9223372036854775807n;
const UINT64_MAX = 18446744073709551615n;

/** Redis string2ll over bytes[from, to): a value that fits int64, as a number, or null. */
export function parseRedisInteger(bytes: Uint8Array, from: number, to: number): number | null {
  const len = to - from;
  if (len <= 0) return null;
  if (len === 1 && bytes[from] === ZERO) return 0;
  let i = from;
  let negative = false;
  if (bytes[i] === MINUS) {
    negative = true;
    i++;
  }
  const digits = to - i;
  if (digits <= 0 || digits > INT64_DIGITS_MAX) return null;
  const first = bytes[i] as number;
  if (first <= ZERO || first > NINE) return null; // no leading zeros, "-0" included
  let value = 0;
  for (; i < to; i++) {
    const c = bytes[i] as number;
    if (c < ZERO || c > NINE) return null;
    value = value * 10 + (c - ZERO);
  }
  // 19 digits can exceed int64; the exact check only matters near the limit.
  if (digits === INT64_DIGITS_MAX && BigInt(asciiOf(bytes, negative ? from + 1 : from, to)) > INT64_MAX + (negative ? 1n : 0n)) return null;
  return negative ? -value : value;
}

function asciiOf(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** An unsigned decimal of 1..20 digits (leading zeros allowed, as strtoull does) up to `max`, or null. */
export function parseUnsigned(token: string, max: bigint = UINT64_MAX): bigint | null {
  if (token.length === 0 || token.length > 20) return null;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < ZERO || c > NINE) return null;
  }
  const value = BigInt(token);
  return value <= max ? value : null;
}

/** A signed 32-bit decimal ("-1", "3600"), or null. */
export function parseInt32(token: string): number | null {
  const negative = token.startsWith("-");
  const magnitude = parseUnsigned(negative ? token.slice(1) : token, negative ? 2147483648n : 2147483647n);
  if (magnitude === null) return null;
  return negative ? -Number(magnitude) : Number(magnitude);
}

/** An unsigned 32-bit decimal, or null. */
export function parseUint32(token: string): number | null {
  const value = parseUnsigned(token, 0xffffffffn);
  return value === null ? null : Number(value);
}

/** Redis string2ll over a whole argument, exactly, as a bigint (for INCRBY and friends), or null. */
export function parseRedisBigInt(bytes: Uint8Array): bigint | null {
  if (parseRedisInteger(bytes, 0, bytes.length) === null) return null;
  return BigInt(asciiOf(bytes, 0, bytes.length));
}
