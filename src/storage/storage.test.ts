import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeId } from "../raft/types.js";
import { StorageError } from "./errors.js";
import { FaultFs } from "./fault-fs.js";
import { openStorage } from "./storage.js";
import { entries, entry, hard, plain, snapshotAt, tempDataDir } from "./testing.js";

const BOOTSTRAP = { voters: [1 as NodeId], learners: [] };

test("a new directory starts empty with the bootstrap membership, which survives reopen", async (t) => {
  const dir = await tempDataDir(t);
  const first = await openStorage(dir, { bootstrap: BOOTSTRAP });
  assert.deepEqual(first.restored, { hardState: hard(0, 0, 0), snapshot: null, entries: [], bootstrap: BOOTSTRAP });
  await first.storage.close();
  const second = await openStorage(dir, { bootstrap: null });
  assert.deepEqual(second.restored.bootstrap, BOOTSTRAP);
  await second.storage.close();
});

test("entries and hard state saved before close are restored on reopen", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  await storage.save({ hardState: hard(1, 1, 0), entries: entries(1, 3, 1) });
  await storage.save({ hardState: hard(2, 2, 3), entries: [entry(4, 2)] });
  await storage.save({ hardState: hard(2, 2, 4) });
  await storage.close();
  const { storage: again, restored, warnings } = await openStorage(dir);
  t.after(() => again.close());
  assert.deepEqual(plain(restored.entries), plain([...entries(1, 3, 1), entry(4, 2)]));
  assert.deepEqual(restored.hardState, hard(2, 2, 4));
  assert.equal(restored.snapshot, null);
  assert.deepEqual(warnings, []);
});

test("an overwritten suffix of the log stays overwritten after reopen", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  await storage.save({ hardState: hard(1, 1, 2), entries: entries(1, 5, 1) });
  // A new leader of term 2 replaces entries 3..5 with its own 3..4.
  await storage.save({ hardState: hard(2, 0, 2), entries: [entry(3, 2), entry(4, 2)] });
  await storage.close();
  const reopened = await openStorage(dir);
  assert.deepEqual(plain(reopened.restored.entries), plain([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]));
  // Appending after the overwrite continues from index 5 again.
  await reopened.storage.save({ entries: [entry(5, 2)] });
  await reopened.storage.close();
  const last = await openStorage(dir);
  t.after(() => last.storage.close());
  assert.deepEqual(last.restored.entries.map((e) => `${e.index}/${e.term}`), ["1/1", "2/1", "3/2", "4/2", "5/2"]);
});

test("save() rejects entries that would leave a gap in the log", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  t.after(() => storage.close());
  await storage.save({ entries: entries(1, 2, 1) });
  await assert.rejects(storage.save({ entries: [entry(4, 1)] }), /Cannot append entry 4: the log ends at 2/);
  await assert.rejects(storage.save({ entries: [entry(3, 1), entry(5, 1)] }), /index 5 follows 3/);
});

test("a snapshot from the leader replaces the log and is restored with the entries after it", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  await storage.save({ hardState: hard(1, 0, 2), entries: entries(1, 3, 1) });
  await storage.save({ snapshot: snapshotAt(10, 2), hardState: hard(2, 0, 10), entries: [entry(11, 2)] });
  await storage.save({ entries: [entry(12, 2)] });
  await storage.close();
  const { storage: again, restored } = await openStorage(dir);
  t.after(() => again.close());
  assert.equal(restored.snapshot?.meta.index, 10);
  assert.equal(new TextDecoder().decode(restored.snapshot?.data), "state@10");
  assert.deepEqual(restored.snapshot?.meta.confState, snapshotAt(10, 2).meta.confState);
  assert.deepEqual(restored.entries.map((e) => e.index), [11, 12]);
  assert.deepEqual(restored.hardState, hard(2, 0, 10));
});

test("saves issued while an fsync runs share one fsync (group commit)", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs });
  const before = fs.datasyncs;
  const calls = 50;
  await Promise.all(Array.from({ length: calls }, (_, k) => storage.save({ entries: [entry(k + 1, 1)], hardState: hard(1, 1, k) })));
  const used = fs.datasyncs - before;
  assert.ok(used < calls / 2, `expected far fewer than ${calls} fsyncs, got ${used}`);
  assert.ok(used >= 1);
  assert.equal(storage.stats().batches, calls);
  await storage.close();
  const { storage: again, restored } = await openStorage(dir);
  t.after(() => again.close());
  assert.equal(restored.entries.length, calls);
  assert.deepEqual(restored.hardState, hard(1, 1, calls - 1));
});

test("the WAL rolls into new segments and reads them all back", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 1024 });
  for (let i = 1; i <= 60; i += 3) {
    await storage.save({ entries: [0, 1, 2].map((k) => entry(i + k, 1, "x".repeat(50))), hardState: hard(1, 1, i - 1) });
  }
  assert.ok(storage.stats().segments > 3, `only ${storage.stats().segments} segments`);
  await storage.close();
  const names = (await readdir(join(dir, "wal"))).sort();
  assert.match(names[0] as string, /^0000000000000001-0000000000000001\.wal$/);
  const { storage: again, restored } = await openStorage(dir, { segmentBytesMax: 1024 });
  t.after(() => again.close());
  assert.deepEqual(restored.entries.map((e) => e.index), Array.from({ length: 60 }, (_, k) => k + 1));
  assert.deepEqual(restored.hardState, hard(1, 1, 57));
});

test("compact() after saveSnapshot() deletes old segments and recovery starts from the snapshot", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { segmentBytesMax: 1024, bootstrap: BOOTSTRAP });
  for (let i = 1; i <= 60; i += 3) {
    await storage.save({ entries: [0, 1, 2].map((k) => entry(i + k, 1, "y".repeat(50))), hardState: hard(1, 1, i + 2) });
  }
  await assert.rejects(storage.compact(40), /newest durable snapshot is at 0/);
  await storage.saveSnapshot(snapshotAt(40, 1));
  const segmentsBefore = storage.stats().segments;
  const removed = await storage.compact(40);
  assert.ok(removed > 0 && storage.stats().segments === segmentsBefore - removed);
  await storage.close();
  const { storage: again, restored } = await openStorage(dir, { segmentBytesMax: 1024 });
  t.after(() => again.close());
  assert.equal(restored.snapshot?.meta.index, 40);
  assert.deepEqual(restored.entries.map((e) => e.index), Array.from({ length: 20 }, (_, k) => k + 41));
  assert.deepEqual(restored.hardState, hard(1, 1, 60));
  assert.deepEqual(restored.bootstrap, BOOTSTRAP);
});

test("saveSnapshot() keeps only the newest snapshot files", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir, { snapshotsRetained: 2 });
  t.after(() => storage.close());
  await storage.save({ entries: entries(1, 30, 1) });
  for (const index of [10, 20, 30]) await storage.saveSnapshot(snapshotAt(index, 1));
  const names = (await readdir(join(dir, "snap"))).sort();
  assert.deepEqual(names, ["0000000000000001-0000000000000014.snap", "0000000000000001-000000000000001e.snap"]);
});

test("the cluster identity is written atomically and read back", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  assert.equal(storage.meta, null);
  await storage.saveMeta({ clusterId: "c-1", nodeId: 3 });
  await storage.close();
  const { storage: again } = await openStorage(dir);
  t.after(() => again.close());
  assert.deepEqual(again.meta, { clusterId: "c-1", nodeId: 3 });
});

test("a data directory held by another live process is refused; a stale lock is taken over", async (t) => {
  const dir = await tempDataDir(t);
  const { storage } = await openStorage(dir);
  await storage.close();
  // The parent of this test process is alive and is not us: it stands for another node.
  const boot = (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  await writeFile(join(dir, "LOCK"), `${process.ppid} ${boot}\n`);
  await assert.rejects(openStorage(dir), (err: unknown) =>
    err instanceof StorageError && err.code === "data_dir_locked" && err.message.includes(`process ${process.ppid} holds`));
  // A pid that cannot be running (beyond Linux's pid_max) is a stale lock left by a crash.
  await writeFile(join(dir, "LOCK"), `99999999 ${boot}\n`);
  const { storage: again } = await openStorage(dir);
  await again.close();
  // A lock from before the last reboot, or cut short by a power loss, is stale too.
  for (const stale of [`${process.ppid} another-boot\n`, `${process.ppid}`]) {
    await writeFile(join(dir, "LOCK"), stale);
    const { storage: later } = await openStorage(dir);
    await later.close();
  }
  assert.deepEqual((await readdir(dir)).filter((n) => n === "LOCK"), []);
});

test("a save() with mustSync false (commit index only) is written without an fdatasync of its own", async (t) => {
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs });
  await storage.save({ entries: entries(1, 2, 1), hardState: hard(1, 1, 0) });
  const before = fs.datasyncs;
  await storage.save({ hardState: hard(1, 1, 2), mustSync: false });
  assert.equal(fs.datasyncs, before);
  // Entries always sync, whatever the caller says.
  await storage.save({ entries: [entry(3, 1)], mustSync: false });
  assert.equal(fs.datasyncs, before + 1);
  await storage.close();
  const { storage: again, restored } = await openStorage(dir);
  t.after(() => again.close());
  assert.deepEqual(restored.hardState, hard(1, 1, 2));
  assert.equal(restored.entries.length, 3);
});
