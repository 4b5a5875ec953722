// Key helpers: ranges, prefixes and validation. Keys are JavaScript strings compared by UTF-16 code
// units; they must be well-formed (no lone surrogates) so that they survive UTF-8 encoding exactly.
import type { KeyRange } from "./types.js";

/** rangeEnd meaning "every key from `key` on", as in etcd. */
export const RANGE_END_ALL = "\0";

/**
 * The smallest well-formed key greater than every key that starts with `prefix`, or RANGE_END_ALL
 * when there is none (empty prefix, or a prefix of only U+FFFF).
 */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c === 0xffff) continue;
    if (c === 0xdfff) continue; // low surrogate at its maximum: carry into the high surrogate
    if (c >= 0xdc00 && c < 0xdfff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
    // c + 1 would be a high surrogate: the smallest well-formed continuation pairs it with 0xDC00.
    if (c >= 0xd7ff && c < 0xdbff) return prefix.slice(0, i) + String.fromCharCode(c + 1, 0xdc00);
    if (c === 0xdbff) return prefix.slice(0, i) + "\ue000"; // past the last high surrogate
    return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return RANGE_END_ALL;
}

/** The range of every key starting with `prefix` (every key at all for ""). */
export function prefixRange(prefix: string): KeyRange {
  return { key: prefix, rangeEnd: prefixEnd(prefix) };
}

/** Whether `key` is in `range`. */
export function inRange(range: KeyRange, key: string): boolean {
  const end = range.rangeEnd;
  if (end === undefined) return key === range.key;
  return key >= range.key && (end === RANGE_END_ALL || key < end);
}

/** Whether `s` has no lone surrogate (so it round-trips through UTF-8). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const d = s.charCodeAt(i + 1);
    if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** Length of `s` in UTF-8 bytes (for a well-formed string). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
