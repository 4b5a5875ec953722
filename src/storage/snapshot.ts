// Snapshot files: `snap/<term>-<index>.snap`, written to a temporary file, fdatasync'ed, renamed
// into place and the directory fsync'ed, so that a snapshot file either exists whole or not at
// all. Layout: "PHXSNP" u16 version | u32 CRC32C of everything after this field | u32 meta length |
// u64 data length | meta (JSON: index, term, confState) | data.
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic-file.js";
import type { Snapshot, SnapshotMeta } from "../raft/types.js";
import { crc32c } from "./crc32c.js";
import { ioError } from "./errors.js";
import type { StorageFs } from "./fs.js";
import { readU32, snapshotMetaSchema } from "./record.js";

const SNAP_MAGIC = "PHXSNP";
const SNAP_FORMAT_VERSION = 1;
const SNAP_HEADER_BYTES = 24;
/** File-name suffix of snapshot files. */
export const SNAPSHOT_SUFFIX = ".snap";
/** Suffix of files being written; leftovers from a crash are deleted on open. */
export const TEMP_SUFFIX = ".tmp";

/** `<term>-<index>.snap`, both as 16 hex digits. */
export function snapshotName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}${SNAPSHOT_SUFFIX}`;
}

/** Parses a snapshot file name; null for any other name. */
export function parseSnapshotName(name: string): { term: number; index: number } | null {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/.exec(name);
  if (!m) return null;
  return { term: parseInt(m[1] as string, 16), index: parseInt(m[2] as string, 16) };
}

/** Writes a snapshot durably (temp file, fdatasync, rename, directory fsync); returns its file name. */
export async function writeSnapshotFile(fs: StorageFs, dir: string, snapshot: Snapshot): Promise<string> {
  const name = snapshotName(snapshot.meta.term, snapshot.meta.index);
  const final = join(dir, name);
  const meta = Buffer.from(JSON.stringify(snapshot.meta), "utf8");
  const head = Buffer.alloc(SNAP_HEADER_BYTES + meta.length);
  head.write(SNAP_MAGIC, 0, "latin1");
  head.writeUInt16LE(SNAP_FORMAT_VERSION, 6);
  head.writeUInt32LE(meta.length, 12);
  head.writeUInt32LE(snapshot.data.length >>> 0, 16);
  head.writeUInt32LE(Math.floor(snapshot.data.length / 0x1_0000_0000), 20);
  meta.copy(head, SNAP_HEADER_BYTES);
  head.writeUInt32LE(crc32c(snapshot.data, crc32c(head, 0, 12)), 8);
  try {
    await writeFileAtomic(final, [head, snapshot.data], { fs, tempSuffix: TEMP_SUFFIX });
  } catch (err) {
    throw ioError("write snapshot", final, err);
  }
  return name;
}

/** Reads and checks a snapshot file: the snapshot, or why it cannot be used. */
export function decodeSnapshotFile(bytes: Uint8Array, expected: { term: number; index: number }):
  { ok: true; snapshot: Snapshot } | { ok: false; reason: string } {
  if (bytes.length < SNAP_HEADER_BYTES) return { ok: false, reason: `the file is ${bytes.length} bytes, shorter than its header` };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.toString("latin1", 0, 6) !== SNAP_MAGIC) return { ok: false, reason: "the file does not start with the snapshot magic" };
  const version = buf.readUInt16LE(6);
  if (version !== SNAP_FORMAT_VERSION) return { ok: false, reason: `snapshot format version ${version} is not supported` };
  const metaLength = buf.readUInt32LE(12);
  const dataLength = buf.readUInt32LE(16) + buf.readUInt32LE(20) * 0x1_0000_0000;
  if (SNAP_HEADER_BYTES + metaLength + dataLength !== buf.length) {
    return { ok: false, reason: `the file is ${buf.length} bytes but its header says ${SNAP_HEADER_BYTES + metaLength + dataLength}` };
  }
  if (crc32c(buf, 0, 12) !== readU32(buf, 8)) return { ok: false, reason: "the file fails its CRC32C check" };
  let meta: SnapshotMeta;
  try {
    const parsed = snapshotMetaSchema.safeParse(JSON.parse(buf.toString("utf8", SNAP_HEADER_BYTES, SNAP_HEADER_BYTES + metaLength)));
    if (!parsed.success) return { ok: false, reason: `its metadata is malformed (${parsed.error.issues[0]?.message ?? "unknown"})` };
    meta = parsed.data;
  } catch (err) {
    return { ok: false, reason: `its metadata is not valid JSON (${(err as Error).message})` };
  }
  if (meta.index !== expected.index || meta.term !== expected.term) {
    return { ok: false, reason: `it holds index ${meta.index} term ${meta.term}, not what its name says` };
  }
  return { ok: true, snapshot: { meta, data: buf.subarray(SNAP_HEADER_BYTES + metaLength) } };
}
