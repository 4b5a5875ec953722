// Crash consistency, randomized but seeded: write batches (with suffix overwrites, snapshots and
// compaction) through a file layer that "dies" at a random byte of a random write, then lose a
// random part of everything not yet fdatasync'ed, as a power cut would (sometimes also a sector
// inside what was kept, as a disk writing sectors out of order would). On reopen the recovered
// state must be exactly the batches in issue order up to some point, and that point must include
// every batch whose save() resolved. A failing seed is printed and replays exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Entry, HardState } from "../raft/types.js";
import { FaultFs } from "./fault-fs.js";
import { openStorage } from "./storage.js";
import { entry, hard, plain, snapshotAt, tempDataDir } from "./testing.js";
import { seededRandom } from "../kv/testkit.js";

/** Seeds run in `npm test`; set STORAGE_CRASH_TRIALS for a longer soak (and STORAGE_CRASH_FIRST_SEED to replay one). */
const TRIALS = Number(process.env.STORAGE_CRASH_TRIALS ?? 20);
const FIRST_SEED = Number(process.env.STORAGE_CRASH_FIRST_SEED ?? 1);
const BATCHES_PER_TRIAL_MAX = 40;
const CONCURRENT_SAVES_MAX = 4;

/** mulberry32 (shared with the other tests), so that a failing seed replays. */
const rng = seededRandom;

interface Batch {
  readonly entries: readonly Entry[];
  readonly hardState: HardState;
}

/** The log and hard state after applying `batches` in order. */
function model(batches: readonly Batch[]): { log: Entry[]; hardState: HardState | null } {
  const log: Entry[] = [];
  let hardState: HardState | null = null;
  for (const b of batches) {
    const first = b.entries[0];
    if (first !== undefined) {
      log.length = first.index - 1;
      log.push(...b.entries);
    }
    hardState = b.hardState;
  }
  return { log, hardState };
}

async function trial(t: { after: (fn: () => Promise<void>) => void }, seed: number): Promise<void> {
  const random = rng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const dir = await tempDataDir(t);
  const fs = new FaultFs();
  const { storage } = await openStorage(dir, { fs, segmentBytesMax: 1024 + int(2048) });
  fs.crashAfter(int(9000));
  const issued: Batch[] = [];
  let acked = 0;
  let lastIndex = 0;
  let term = 1;
  let commit = 0;
  const snapshots: number[] = [];
  while (issued.length < BATCHES_PER_TRIAL_MAX && !fs.hasCrashed) {
    const wave: Promise<void>[] = [];
    for (let w = 1 + int(CONCURRENT_SAVES_MAX); w > 0; w--) {
      // Sometimes a new term overwrites the uncommitted suffix, as a new leader would.
      let first = lastIndex + 1;
      if (random() < 0.2 && lastIndex > commit) {
        term++;
        first = commit + 1 + int(lastIndex - commit);
      }
      const count = int(4);
      const list = Array.from({ length: count }, (_, k) =>
        entry(first + k, term, `s${seed}b${issued.length}i${first + k}`.padEnd(int(120), "~")));
      if (count > 0) lastIndex = first + count - 1;
      commit = Math.min(lastIndex, Math.max(commit, lastIndex - int(3)));
      const batch: Batch = { entries: list, hardState: hard(term, 1, commit) };
      issued.push(batch);
      wave.push(storage.save(batch));
    }
    const results = await Promise.allSettled(wave);
    // Group commit resolves in issue order, so the acknowledged batches are a prefix.
    for (const r of results) {
      if (r.status === "fulfilled") acked++;
      else break;
    }
    if (!fs.hasCrashed && random() < 0.15 && commit > (snapshots.at(-1) ?? 0)) {
      const at = commit;
      const atTerm = (model(issued).log[at - 1] as Entry).term;
      try {
        await storage.saveSnapshot(snapshotAt(at, atTerm));
        snapshots.push(at);
        await storage.compact(at);
      } catch {
        break; // crashed during the snapshot: recovery must still find a consistent state
      }
    }
  }
  await storage.close().catch(() => undefined); // a crashed file layer refuses to close cleanly
  await fs.powerLoss((unsynced) => int(unsynced + 1), (kept) => (random() < 0.3 ? int(kept) : null));

  const { storage: reopened, restored, warnings } = await openStorage(dir);
  if (process.env.STORAGE_CRASH_DEBUG) console.log(seed, { crashed: fs.hasCrashed, issued: issued.length, acked, snapshots, recovered: restored.entries.length, warnings });
  await reopened.close();
  const snapIndex = restored.snapshot?.meta.index ?? 0;
  assert.ok(snapIndex === 0 ? snapshots.length === 0 || restored.snapshot === null : snapshots.includes(snapIndex),
    `seed ${seed}: recovered snapshot ${snapIndex} was never saved`);
  const got = plain(restored.entries);
  for (let k = acked; k <= issued.length; k++) {
    const m = model(issued.slice(0, k));
    const expected = plain(m.log.filter((e) => e.index > snapIndex));
    if (JSON.stringify(expected) === JSON.stringify(got) && JSON.stringify(m.hardState ?? hard(0, 0, 0)) === JSON.stringify(restored.hardState)) {
      return;
    }
  }
  assert.fail(`seed ${seed}: recovered log (${got.length} entries after snapshot ${snapIndex}, hard state ` +
    `${JSON.stringify(restored.hardState)}) is not the state after ${acked}..${issued.length} of the issued batches ` +
    `(${acked} acknowledged)`);
}

test("after a crash and power loss at a random byte, recovery holds every acknowledged batch and nothing torn", async (t) => {
  for (let seed = FIRST_SEED; seed < FIRST_SEED + TRIALS; seed++) await trial(t, seed);
});
