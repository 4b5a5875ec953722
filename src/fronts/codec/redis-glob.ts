// Redis's glob matching for KEYS and SCAN MATCH (util.c stringmatchlen), over bytes: `*` any run,
// `?` one byte, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), `\x` a literal x. An
// unterminated `[` class runs to the end of the pattern, as in Redis. Iterative with one backtrack
// point per `*`, so a hostile pattern ("a*a*a*a*...b") costs O(pattern × subject), never exponential
// time (Redis caps its recursion for the same reason).

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

function lower(c: number, nocase: boolean): number {
  return nocase && c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/**
 * Whether the one-byte token at pattern[p] (a literal, `?`, an escape or a class) matches `c`;
 * returns the pattern index after the token, or -1 on no match.
 */
function matchOne(pattern: Uint8Array, p: number, c: number, nocase: boolean): number {
  const t = pattern[p] as number;
  if (t === QUESTION) return p + 1;
  if (t === BACKSLASH && p + 1 < pattern.length) return lower(pattern[p + 1] as number, nocase) === lower(c, nocase) ? p + 2 : -1;
  if (t !== OPEN) return lower(t, nocase) === lower(c, nocase) ? p + 1 : -1;
  let i = p + 1;
  const negate = pattern[i] === CARET;
  if (negate) i++;
  let matched = false;
  const lc = lower(c, nocase);
  while (i < pattern.length && pattern[i] !== CLOSE) {
    const x = pattern[i] as number;
    if (x === BACKSLASH && i + 1 < pattern.length) {
      if (lower(pattern[i + 1] as number, nocase) === lc) matched = true;
      i += 2;
    } else if (i + 2 < pattern.length && pattern[i + 1] === DASH) {
      let start = lower(x, nocase);
      let end = lower(pattern[i + 2] as number, nocase);
      if (start > end) [start, end] = [end, start];
      if (lc >= start && lc <= end) matched = true;
      i += 3;
    } else {
      if (lower(x, nocase) === lc) matched = true;
      i++;
    }
  }
  if (negate) matched = !matched;
  return matched ? Math.min(i + 1, pattern.length) : -1;
}

/** Whether `subject` matches the Redis glob `pattern`. */
export function redisGlobMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  let p = 0;
  let s = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    if (p < pattern.length && pattern[p] === STAR) {
      while (p < pattern.length && pattern[p] === STAR) p++;
      if (p === pattern.length) return true;
      starP = p;
      starS = s;
      continue;
    }
    const next = p < pattern.length ? matchOne(pattern, p, subject[s] as number, nocase) : -1;
    if (next !== -1) {
      p = next;
      s++;
    } else if (starP !== -1) {
      p = starP;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === STAR) p++;
  return p === pattern.length;
}
