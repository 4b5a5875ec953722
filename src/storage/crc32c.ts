// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every WAL record and
// snapshot file. Node 20 ships no CRC32C and the npm packages that are fast rely on native
// add-ons, so this is a table-driven slice-by-8 version in plain TypeScript: fast enough for
// the WAL's hot path (hundreds of MB/s), and it has no build step.

const POLYNOMIAL_REFLECTED = 0x82f63b78;
const TABLE_COUNT = 8;

function makeTables(): Uint32Array[] {
  const tables: Uint32Array[] = [];
  const first = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL_REFLECTED : c >>> 1;
    first[n] = c >>> 0;
  }
  tables.push(first);
  for (let t = 1; t < TABLE_COUNT; t++) {
    const prev = tables[t - 1] as Uint32Array;
    const next = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const p = prev[n] as number;
      next[n] = ((p >>> 8) ^ (first[p & 0xff] as number)) >>> 0;
    }
    tables.push(next);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/**
 * Continues a CRC32C over `bytes[start, end)`. Pass the previous return value as `crc` to
 * checksum data in pieces; start from 0.
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc >>> 0;
  let i = start;
  // Slice-by-8: eight table look-ups fold eight input bytes per step.
  const fastEnd = end - ((end - i) & 7);
  while (i < fastEnd) {
    const a = (c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) |
      ((bytes[i + 3] as number) << 24))) >>> 0;
    c = (T7[a & 0xff] as number) ^ (T6[(a >>> 8) & 0xff] as number) ^ (T5[(a >>> 16) & 0xff] as number) ^
      (T4[a >>> 24] as number) ^ (T3[bytes[i + 4] as number] as number) ^ (T2[bytes[i + 5] as number] as number) ^
      (T1[bytes[i + 6] as number] as number) ^ (T0[bytes[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) {
    c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}
