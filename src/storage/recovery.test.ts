// Recovery from damaged data directories: what is cut off as a torn write, and what refuses to
// start. The rule under test (see segment.ts, isTornWrite): only the end of the LAST segment may
// be dropped, and only when it looks like an interrupted write (file ends early, or whole sectors
// read back as zeros). Everything else could hide an acknowledged write, so it refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StorageCorruptError } from "./errors.js";
import { nodeFs } from "./fs.js";
import { crc32c } from "./crc32c.js";
import { encodeBatch, readFrame, WAL_FORMAT_VERSION } from "./record.js";
import type { WalRecord } from "./record.js";
import { segmentName } from "./segment.js";
import { recover } from "./recover.js";
import { openStorage } from "./storage.js";
import type { Storage } from "./storage.js";
import { entry, hard, snapshotAt, tempDataDir } from "./testing.js";

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "wal"))).sort().map((n) => join(dir, "wal", n));
}

/** Offsets of the records in a segment file, and the end. */
function recordOffsets(buf: Uint8Array): number[] {
  const out: number[] = [];
  let off = 0;
  while (off < buf.length) {
    const frame = readFrame(buf, off);
    assert.ok(frame.ok, `intact record expected at ${off}`);
    out.push(off);
    off = frame.next;
  }
  return out;
}

/** Writes `batches` one-entry batches (entry + hard state each) and returns the last segment's path. */
async function writeBatches(dir: string, batches: number, dataBytes = 20): Promise<string> {
  const { storage } = await openStorage(dir);
  for (let i = 1; i <= batches; i++) {
    await storage.save({ entries: [entry(i, 1, String(i).padStart(dataBytes, "."))], hardState: hard(1, 1, i - 1) });
  }
  await storage.close();
  return (await walFiles(dir)).at(-1) as string;
}

/** Saves entries 1..30, three per save(), each with a hard state committing them. */
async function fillSegments(storage: Storage): Promise<void> {
  for (let i = 1; i <= 30; i += 3) {
    await storage.save({ entries: [0, 1, 2].map((k) => entry(i + k, 1, "z".repeat(40))), hardState: hard(1, 1, i + 2) });
  }
}

async function restoredIndexes(dir: string): Promise<{ indexes: number[]; commit: number; warnings: readonly string[] }> {
  const { storage, restored, warnings } = await openStorage(dir);
  await storage.close();
  return { indexes: restored.entries.map((e) => e.index), commit: restored.hardState.commit, warnings };
}

async function refusal(dir: string): Promise<StorageCorruptError> {
  try {
    const { storage } = await openStorage(dir);
    await storage.close();
  } catch (err) {
    assert.ok(err instanceof StorageCorruptError, `expected StorageCorruptError, got ${String(err)}`);
    assert.match(err.message, /phalanx join/);
    return err;
  }
  assert.fail("openStorage() should have refused to start");
}

test("a torn last batch is dropped at every cut point, keeping exactly the batches before it", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 5);
  const original = await readFile(file);
  const offsets = recordOffsets(original);
  // Records: segment header, then per save() one write: (write start, entry, hardState).
  const lastBatchStart = offsets[offsets.length - 3] as number;
  const dirs = { walDir: join(dir, "wal"), snapDir: join(dir, "snap") };
  for (let cut = lastBatchStart + 1; cut < original.length; cut++) {
    await writeFile(file, original.subarray(0, cut));
    // recover() is the read-only half of openStorage(): what it returns is what the node restarts with.
    const got = await recover(nodeFs, dirs);
    assert.deepEqual(got?.restored.entries.map((e) => e.index), [1, 2, 3, 4], `cut at ${cut}`);
    assert.equal(got?.restored.hardState.commit, 3, `cut at ${cut}`);
    assert.equal(got?.lastSegmentBytes, lastBatchStart);
    assert.match(got?.warnings[0] ?? "", new RegExp(`Dropped ${cut - lastBatchStart} bytes at offset ${lastBatchStart}`));
  }
  // Through openStorage() at both ends of the range: the file is cut back and the next open is clean.
  for (const cut of [lastBatchStart + 1, original.length - 1]) {
    await writeFile(file, original.subarray(0, cut));
    assert.deepEqual((await restoredIndexes(dir)).indexes, [1, 2, 3, 4]);
    assert.equal((await readFile(file)).length, lastBatchStart);
    assert.deepEqual((await restoredIndexes(dir)).warnings, []);
  }
});

test("after dropping a torn tail the log accepts appends and keeps them", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 3);
  const original = await readFile(file);
  await writeFile(file, original.subarray(0, original.length - 5));
  const { storage, restored } = await openStorage(dir);
  assert.deepEqual(restored.entries.map((e) => e.index), [1, 2]);
  await storage.save({ entries: [entry(3, 2, "again")], hardState: hard(2, 1, 2) });
  await storage.close();
  const { storage: again, restored: after } = await openStorage(dir);
  t.after(() => again.close());
  assert.deepEqual(after.entries.map((e) => `${e.index}/${e.term}`), ["1/1", "2/1", "3/2"]);
});

test("a last record with a zero-filled sector is a torn write and is dropped", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 4, 3000);
  const buf = Buffer.from(await readFile(file));
  const offsets = recordOffsets(buf);
  const lastEntry = offsets[offsets.length - 2] as number;
  // Zero one whole sector inside the last entry: as if the disk never wrote it before power failed.
  const sector = Math.ceil((lastEntry + 100) / 512) * 512;
  buf.fill(0, sector, sector + 512);
  await writeFile(file, buf);
  assert.deepEqual((await restoredIndexes(dir)).indexes, [1, 2, 3]);
});

test("a zero-filled sector in an earlier write refuses to start, though torn writes look alike", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 4, 3000);
  const buf = Buffer.from(await readFile(file));
  const offsets = recordOffsets(buf);
  const secondEntry = offsets[5] as number;
  const sector = Math.ceil((secondEntry + 100) / 512) * 512;
  buf.fill(0, sector, sector + 512);
  await writeFile(file, buf);
  const err = await refusal(dir);
  assert.equal(err.offset, secondEntry);
  assert.match(err.message, /a later write follows it/);
});

test("a zero-filled tail after the last batch is dropped", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 3);
  const buf = await readFile(file);
  await writeFile(file, Buffer.concat([buf, Buffer.alloc(4096)]));
  assert.deepEqual((await restoredIndexes(dir)).indexes, [1, 2, 3]);
});

test("a flipped bit in a middle record refuses to start, naming the file and offset", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 5);
  const buf = Buffer.from(await readFile(file));
  const offsets = recordOffsets(buf);
  const victim = offsets[5] as number; // the entry record of batch 2
  buf[victim + 20] = (buf[victim + 20] as number) ^ 0x10;
  await writeFile(file, buf);
  const err = await refusal(dir);
  assert.equal(err.code, "wal_corrupt");
  assert.equal(err.file, file);
  assert.equal(err.offset, victim);
  assert.ok(err.message.includes(`${file} at offset ${victim}`), err.message);
  assert.match(err.message, /fails its CRC32C check/);
});

test("a flipped bit in a middle record's length refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 5);
  const buf = Buffer.from(await readFile(file));
  const victim = recordOffsets(buf)[6] as number; // the hard state record of batch 2
  buf[victim + 1] = (buf[victim + 1] as number) ^ 0x01;
  await writeFile(file, buf);
  const err = await refusal(dir);
  assert.equal(err.offset, victim);
  assert.match(err.message, /length fails its checksum/);
});

// Decision: a complete, non-zero last record that fails its CRC is NOT treated as torn. A torn
// write leaves the file short or whole sectors unwritten (zeros); a flipped bit in an intact
// record is media or memory damage to data whose fdatasync may have returned, so the record may
// have been acknowledged. Dropping it could lose an acknowledged write and let this node vote or
// ack against its promise, so the node refuses and is restored from a peer (etcd decides alike).
test("a flipped bit in the last record (complete, not zero-filled) refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const file = await writeBatches(dir, 5);
  const buf = Buffer.from(await readFile(file));
  const last = recordOffsets(buf).at(-1) as number;
  buf[last + 14] = (buf[last + 14] as number) ^ 0x04;
  await writeFile(file, buf);
  const err = await refusal(dir);
  assert.equal(err.offset, last);
  assert.match(err.message, /does not look like a torn write/);
});

test("a truncated segment that is not the last refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 512 });
  await fillSegments(storage);
  await storage.close();
  const files = await walFiles(dir);
  assert.ok(files.length >= 3);
  const middle = files[1] as string;
  const buf = await readFile(middle);
  // Cut through the seal (21 bytes) into the last batch.
  await writeFile(middle, buf.subarray(0, buf.length - 30));
  const err = await refusal(dir);
  assert.equal(err.code, "wal_corrupt");
  assert.equal(err.file, middle);
  assert.match(err.message, /only the last segment may end in a torn write/);
  // Cut exactly at a batch boundary: the segment parses, but the next one does not follow it.
  const offsets = recordOffsets(buf);
  const lastWrite = offsets[offsets.length - 6] as number; // write, 3 entries, hardState, seal
  await writeFile(middle, buf.subarray(0, lastWrite));
  const gap = await refusal(dir);
  assert.equal(gap.code, "wal_missing_segment");
  assert.match(gap.message, /starts at index \d+ but the previous one ends at/);
});

test("a missing segment in the middle of the sequence refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 512 });
  await fillSegments(storage);
  await storage.close();
  const files = await walFiles(dir);
  await unlink(files[1] as string);
  const err = await refusal(dir);
  assert.equal(err.code, "wal_missing_segment");
  assert.match(err.message, /segments 2 to 2 are missing/);
});

test("a missing last segment refuses to start (the one before it is sealed)", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 512 });
  await fillSegments(storage);
  await storage.close();
  const files = await walFiles(dir);
  await unlink(files.at(-1) as string);
  const err = await refusal(dir);
  assert.equal(err.code, "wal_missing_segment");
  assert.match(err.message, /it is sealed/);
});

test("a missing first segment with no snapshot to cover it refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 512 });
  await fillSegments(storage);
  await storage.close();
  await unlink((await walFiles(dir))[0] as string);
  const err = await refusal(dir);
  assert.equal(err.code, "snapshot_missing");
  assert.match(err.message, /no snapshot covers them/);
});

async function compactedDir(dir: string): Promise<void> {
  const { storage } = await openStorage(dir, { segmentBytesMax: 512 });
  await fillSegments(storage);
  await storage.saveSnapshot(snapshotAt(10, 1));
  await storage.saveSnapshot(snapshotAt(20, 1));
  assert.ok((await storage.compact(20)) > 0);
  await storage.close();
}

test("a missing snapshot file that the compacted WAL depends on refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  await compactedDir(dir);
  const snap = join(dir, "snap", "0000000000000001-0000000000000014.snap");
  await unlink(snap);
  const err = await refusal(dir);
  assert.equal(err.code, "snapshot_missing");
  assert.equal(err.file, snap);
});

test("a corrupt snapshot that the compacted WAL depends on refuses to start, even with an older one present", async (t) => {
  const dir = await tempDataDir(t);
  await compactedDir(dir);
  const snap = join(dir, "snap", "0000000000000001-0000000000000014.snap");
  const buf = Buffer.from(await readFile(snap));
  buf[buf.length - 1] = (buf[buf.length - 1] as number) ^ 0xff;
  await writeFile(snap, buf);
  const err = await refusal(dir);
  assert.equal(err.code, "snapshot_corrupt");
  assert.equal(err.file, snap);
  assert.match(err.message, /fails its CRC32C check/);
});

test("a corrupt newest snapshot falls back to an older one while the WAL still covers it", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  for (let i = 1; i <= 30; i++) await storage.save({ entries: [entry(i, 1)], hardState: hard(1, 1, i) });
  await storage.saveSnapshot(snapshotAt(10, 1));
  await storage.saveSnapshot(snapshotAt(20, 1));
  await storage.close();
  const snap = join(dir, "snap", "0000000000000001-0000000000000014.snap");
  await writeFile(snap, (await readFile(snap)).subarray(0, 30));
  const { storage: again, restored, warnings } = await openStorage(dir);
  t.after(() => again.close());
  assert.equal(restored.snapshot?.meta.index, 10);
  assert.deepEqual(restored.entries.map((e) => e.index), Array.from({ length: 20 }, (_, k) => k + 11));
  assert.match(warnings.join("\n"), /0000000000000014\.snap is unusable/);
});

test("snapshots are refused when the WAL directory has vanished", async (t) => {
  const dir = await tempDataDir(t);
  await compactedDir(dir);
  await rm(join(dir, "wal"), { recursive: true });
  const err = await refusal(dir);
  assert.equal(err.code, "wal_missing_segment");
});

/** Writes a hand-made segment 1 holding `records` after its header, one batch per record. */
async function craftSegment(dir: string, records: readonly WalRecord[]): Promise<string> {
  const file = join(dir, "wal", segmentName(1, 1));
  await mkdir(join(dir, "wal"), { recursive: true });
  const header: WalRecord = {
    kind: "header",
    header: { version: WAL_FORMAT_VERSION, seq: 1, firstIndex: 1, hardState: null, snapshot: null, bootstrap: null },
  };
  await writeFile(file, Buffer.concat([header, ...records].map((r) => encodeBatch([r]))));
  return file;
}

test("a gap in the entry indexes refuses to start, naming the record", async (t) => {
  const dir = await tempDataDir(t);
  const file = await craftSegment(dir, [1, 2, 4].map((i) => ({ kind: "entry", entry: entry(i, 1) } as const)));
  const err = await refusal(dir);
  assert.equal(err.code, "wal_corrupt");
  assert.equal(err.file, file);
  assert.match(err.message, /entry 4 follows entry 2, leaving a gap in the log/);
});

test("a hard state committing entries the log does not hold refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  await craftSegment(dir, [
    { kind: "entry", entry: entry(1, 1) },
    { kind: "hardState", hardState: hard(1, 1, 5) },
  ]);
  const err = await refusal(dir);
  assert.equal(err.code, "wal_missing_segment");
  assert.match(err.message, /entry 5 is committed but the log ends at 1/);
});

test("a segment of an unknown format version refuses to start", async (t) => {
  const dir = await tempDataDir(t);
  const file = await craftSegment(dir, []);
  const buf = Buffer.from(await readFile(file));
  // Rewrite the version field and fix up the CRC, as a future release would write it.
  buf.writeUInt16LE(99, 12 + 1 + 6);
  buf.writeUInt32LE(crc32c(buf, 0, 12, 12 + buf.readUInt32LE(0)), 8);
  await writeFile(file, buf);
  const err = await refusal(dir);
  assert.match(err.message, /segment format version 99 is not supported/);
});
