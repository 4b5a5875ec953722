// Helpers the codec tests share: byte/string conversion and "feed a stream in every 2-chunk split".
// In testdata/ so the build leaves it out; pure, so it obeys the same lint as the codecs.

/** Bytes of a latin1 string (each char code 0..255 is one byte), for writing wire data in tests. */
export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** The latin1 string of some bytes (lossless), for comparing parsed output. */
export function textOf(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/** Joins byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Feeds `stream` whole, then in every split into two chunks, then byte by byte, each time into a
 * fresh parser made by `make`; returns the whole-stream output and the first differing split.
 */
export function splitsAgree<T>(stream: Uint8Array, make: () => { feed(chunk: Uint8Array): T[] }, show: (frames: T[]) => string): { whole: string; mismatch: string | null } {
  const run = (chunks: Uint8Array[]): string => {
    const parser = make();
    const frames: T[] = [];
    for (const c of chunks) frames.push(...parser.feed(c));
    return show(frames);
  };
  const whole = run([stream]);
  for (let k = 0; k <= stream.length; k++) {
    const got = run([stream.subarray(0, k), stream.subarray(k)]);
    if (got !== whole) return { whole, mismatch: `split at ${k}: ${got}` };
  }
  const bytewise = run(Array.from(stream, (_, i) => stream.subarray(i, i + 1)));
  if (bytewise !== whole) return { whole, mismatch: `byte by byte: ${bytewise}` };
  return { whole, mismatch: null };
}

/** `bytes` cut at 0..4 random points (seeded), for checking that chunking never changes the output. */
export function randomSplit(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const cuts = Array.from({ length: Math.floor(random() * 5) }, () => Math.floor(random() * (bytes.length + 1))).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  out.push(bytes.subarray(at));
  return out;
}

/** The output of feeding `chunks` in order into one parser. */
export function feedAll<T>(parser: { feed(chunk: Uint8Array): T[] }, chunks: readonly Uint8Array[]): T[] {
  const out: T[] = [];
  for (const c of chunks) out.push(...parser.feed(c));
  return out;
}
