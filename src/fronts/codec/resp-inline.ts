// Splitting an inline command line ("SET k \"a b\"") into arguments exactly as redis-server's
// sdssplitargs does, so telnet/nc users and redis-cli's inline mode get Redis's behaviour:
// whitespace separates; "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes; 'single quotes'
// take only \'; a closing quote must be followed by whitespace or the end; a NUL ends the line.

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;
const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** C's isspace. */
function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === VT || c === FF || c === CR;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const ESCAPES: Record<number, number> = { 0x6e: LF, 0x72: CR, 0x74: TAB, 0x62: 0x08, 0x61: 0x07 };

/** The arguments of an inline line (without its line ending), or null when quotes are unbalanced. */
export function splitInlineArgs(line: Uint8Array): Uint8Array[] | null {
  const nul = line.indexOf(0);
  const end = nul === -1 ? line.length : nul;
  const args: Uint8Array[] = [];
  let p = 0;
  for (;;) {
    while (p < end && isSpace(line[p] as number)) p++;
    if (p >= end) return args;
    const current: number[] = [];
    let inDouble = false;
    let inSingle = false;
    for (let done = false; !done;) {
      const c = p < end ? (line[p] as number) : -1;
      if (inDouble) {
        if (c === -1) return null;
        const next = p + 1 < end ? (line[p + 1] as number) : -1;
        if (c === BACKSLASH && next === 0x78 && p + 3 < end && hexValue(line[p + 2] as number) >= 0 && hexValue(line[p + 3] as number) >= 0) {
          current.push(hexValue(line[p + 2] as number) * 16 + hexValue(line[p + 3] as number));
          p += 3;
        } else if (c === BACKSLASH && next !== -1) {
          current.push(ESCAPES[next] ?? next);
          p++;
        } else if (c === DQUOTE) {
          if (next !== -1 && !isSpace(next)) return null;
          done = true;
        } else {
          current.push(c);
        }
      } else if (inSingle) {
        if (c === -1) return null;
        const next = p + 1 < end ? (line[p + 1] as number) : -1;
        if (c === BACKSLASH && next === SQUOTE) {
          current.push(SQUOTE);
          p++;
        } else if (c === SQUOTE) {
          if (next !== -1 && !isSpace(next)) return null;
          done = true;
        } else {
          current.push(c);
        }
      } else if (c === -1 || c === SPACE || c === LF || c === CR || c === TAB) {
        done = true;
      } else if (c === DQUOTE) {
        inDouble = true;
      } else if (c === SQUOTE) {
        inSingle = true;
      } else {
        current.push(c);
      }
      if (p < end) p++;
    }
    args.push(Uint8Array.from(current));
  }
}
