// A full disk and failing fsyncs: the error reaches the caller with a precise code, the storage
// refuses further writes (see wal.ts on fsyncgate), and reopening finds every acknowledged write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StorageIoError } from "./errors.js";
import { FaultFs } from "./fault-fs.js";
import { openStorage } from "./storage.js";
import { entry, hard, snapshotAt, tempDataDir } from "./testing.js";

async function reopenIndexes(dir: string): Promise<number[]> {
  const { storage, restored } = await openStorage(dir);
  await storage.close();
  return restored.entries.map((e) => e.index);
}

test("ENOSPC part-way through a write rejects the save as disk_full and loses nothing acknowledged", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs });
  for (let i = 1; i <= 5; i++) await storage.save({ entries: [entry(i, 1)], hardState: hard(1, 1, i) });
  fs.inject = (op) => (op === "write" ? { code: "ENOSPC", partialBytes: 17 } : null);
  const failing = storage.save({ entries: [entry(6, 1)], hardState: hard(1, 1, 6) });
  const queued = storage.save({ entries: [entry(7, 1)] });
  await assert.rejects(failing, (err: unknown) => {
    assert.ok(err instanceof StorageIoError);
    assert.equal(err.code, "disk_full");
    assert.match(err.message, /^Cannot append to WAL segment .*\.wal: the disk is full$/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, "ENOSPC");
    return true;
  });
  await assert.rejects(queued, (err: unknown) => err instanceof StorageIoError && err.code === "storage_failed");
  // The disk has room again, but the storage stays failed until reopened.
  fs.inject = () => null;
  await assert.rejects(storage.save({ entries: [entry(6, 1)] }), /an earlier write failed .*the disk is full.*reopen/);
  await storage.close();
  assert.deepEqual(await reopenIndexes(dir), [1, 2, 3, 4, 5]);
});

test("a failed fdatasync rejects the save as io_failed and the storage stops accepting writes", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs });
  for (let i = 1; i <= 3; i++) await storage.save({ entries: [entry(i, 1)] });
  fs.inject = (op) => (op === "datasync" ? { code: "EIO" } : null);
  await assert.rejects(storage.save({ entries: [entry(4, 1)] }), (err: unknown) =>
    err instanceof StorageIoError && err.code === "io_failed" && /: EIO$/.test(err.message));
  fs.inject = () => null;
  await assert.rejects(storage.save({ entries: [entry(4, 1)] }), (err: unknown) =>
    err instanceof StorageIoError && err.code === "storage_failed");
  await storage.close();
  // The unacknowledged entry 4 reached the page cache and may or may not be there; 1..3 must be.
  const got = await reopenIndexes(dir);
  assert.deepEqual(got.slice(0, 3), [1, 2, 3]);
  assert.ok(got.length <= 4);
});

test("ENOSPC while creating the next segment fails the save and leaves no half-made segment", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs, segmentBytesMax: 400 });
  let acknowledged = 0;
  fs.inject = (op) => (op === "create" ? { code: "ENOSPC" } : null);
  let failure: unknown = null;
  for (let i = 1; i <= 40 && failure === null; i++) {
    try {
      await storage.save({ entries: [entry(i, 1, "q".repeat(60))], hardState: hard(1, 1, i) });
      acknowledged = i;
    } catch (err) {
      failure = err;
    }
  }
  assert.ok(failure instanceof StorageIoError && failure.code === "disk_full", String(failure));
  assert.match(failure.message, /Cannot create WAL segment .*0000000000000002-.*\.wal: the disk is full/);
  await storage.close();
  assert.deepEqual(await reopenIndexes(dir), Array.from({ length: acknowledged }, (_, k) => k + 1));
  assert.deepEqual((await readdir(join(dir, "wal"))).filter((n) => n.endsWith(".tmp")), []);
});

test("ENOSPC while writing a snapshot rejects saveSnapshot() and recovery ignores the partial file", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs });
  for (let i = 1; i <= 5; i++) await storage.save({ entries: [entry(i, 1)], hardState: hard(1, 1, i) });
  fs.inject = (op, path) => (op === "write" && path.includes("snap") ? { code: "ENOSPC", partialBytes: 10 } : null);
  await assert.rejects(storage.saveSnapshot(snapshotAt(4, 1)), (err: unknown) =>
    err instanceof StorageIoError && err.code === "disk_full" && /Cannot write snapshot .*\.snap: the disk is full/.test(err.message));
  await storage.close();
  const { storage: again, restored } = await openStorage(dir);
  t.after(() => again.close());
  assert.equal(restored.snapshot, null);
  assert.deepEqual(restored.entries.map((e) => e.index), [1, 2, 3, 4, 5]);
  assert.deepEqual(await readdir(join(dir, "snap")), []);
});

test("ENOSPC while sealing a full segment fails the save, and the unsealed segment still recovers", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs, segmentBytesMax: 400 });
  // The seal is the only write into a segment that is not the newest: fail it after 5 bytes.
  let newest = "";
  fs.inject = (op, path) => {
    if (op === "rename") newest = path;
    return op === "write" && newest !== "" && path !== newest ? { code: "ENOSPC", partialBytes: 5 } : null;
  };
  let acknowledged = 0;
  let failure: unknown = null;
  for (let i = 1; i <= 40 && failure === null; i++) {
    try {
      await storage.save({ entries: [entry(i, 1, "q".repeat(60))], hardState: hard(1, 1, i) });
      acknowledged = i;
    } catch (err) {
      failure = err;
    }
  }
  assert.ok(failure instanceof StorageIoError && failure.code === "disk_full", String(failure));
  assert.match(failure.message, /Cannot seal WAL segment .*0000000000000001-0000000000000001\.wal: the disk is full/);
  await storage.close();
  assert.deepEqual(await reopenIndexes(dir), Array.from({ length: acknowledged }, (_, k) => k + 1));
});
