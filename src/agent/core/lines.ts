// Splits an instance's output into lines for the log, with a bound: a process that writes
// megabytes without a newline must not grow the agent's memory, so an over-long line is cut and
// emitted in pieces of at most `maxLineChars`.

/** Longest line passed to the logger; longer ones are emitted in pieces. */
export const MAX_LINE_CHARS = 16 * 1024;

/** Feeds `chunk` after the unfinished `carry`; returns complete lines and the new carry. */
export function splitLines(carry: string, chunk: string, maxLineChars = MAX_LINE_CHARS): { lines: string[]; carry: string } {
  const parts = (carry + chunk).split("\n");
  let rest = parts.pop() ?? "";
  const lines: string[] = [];
  for (const part of parts) pushBounded(lines, part.endsWith("\r") ? part.slice(0, -1) : part, maxLineChars);
  while (rest.length > maxLineChars) {
    lines.push(rest.slice(0, maxLineChars));
    rest = rest.slice(maxLineChars);
  }
  return { lines, carry: rest };
}

function pushBounded(out: string[], line: string, max: number): void {
  if (line.length <= max) {
    out.push(line);
    return;
  }
  for (let i = 0; i < line.length; i += max) out.push(line.slice(i, i + max));
}
