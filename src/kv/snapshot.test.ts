import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApplyOutput, Command } from "./store.js";
import { encodeCommand, KvStore } from "./store.js";
import { CommandGenerator, seededRandom } from "./testkit.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Runs `n` random commands from `seed` on `store`, returning every output. */
function drive(store: KvStore, gen: CommandGenerator, n: number): ApplyOutput[] {
  const outs: ApplyOutput[] = [];
  for (let i = 0; i < n; i++) outs.push(store.apply(store.appliedIndex + 1, gen.next(store.revision)));
  return outs;
}

/** Every readable fact of a store, for comparing two of them. */
function everything(s: KvStore): unknown {
  const reads = [];
  for (let rev = s.compactRevision; rev <= s.revision; rev++) reads.push(s.range({ key: "", rangeEnd: "\0", revision: rev }));
  const history = s.history(s.compactRevision, undefined, { maxEvents: 1e9, maxScanned: 1e9 });
  const leases = s.leases().map((l) => s.lease(l.id));
  return { revision: s.revision, compact: s.compactRevision, applied: s.appliedIndex, reads, history, leases };
}

for (const seed of [11, 12, 13]) {
  test(`seed ${seed}: the same commands on two stores give byte-identical snapshots`, () => {
    const a = new KvStore();
    const b = new KvStore();
    const outA = drive(a, new CommandGenerator(seededRandom(seed)), 300);
    // The other replica gets them as Raft entry bytes, as it would over the wire.
    const gen = new CommandGenerator(seededRandom(seed));
    const outB: ApplyOutput[] = [];
    for (let i = 0; i < 300; i++) outB.push(b.applyEntry(b.appliedIndex + 1, encodeCommand(gen.next(b.revision))));
    assert.deepEqual(outA, outB);
    assert.ok(a.revision > 50 && a.compactRevision > 0, `workload too tame: revision ${a.revision}, compacted at ${a.compactRevision}`);
    assert.deepEqual(a.snapshot(), b.snapshot());
  });

  test(`seed ${seed}: a restored snapshot has identical state and behaves identically afterwards`, () => {
    const original = new KvStore();
    const random = seededRandom(seed);
    drive(original, new CommandGenerator(random), 200);
    const bytes = original.snapshot();
    const copy = new KvStore();
    copy.apply(1, { type: "put", key: "junk", value: enc("overwritten by restore") });
    copy.restore(bytes);
    assert.deepEqual(everything(copy), everything(original));
    assert.deepEqual(copy.snapshot(), bytes);
    // The same continuation on both: identical outputs and snapshots.
    const next = new CommandGenerator(seededRandom(seed + 1000));
    for (let i = 0; i < 150; i++) {
      const cmd: Command = next.next(original.revision);
      const index = original.appliedIndex + 1 + (i % 3); // gaps stand for config entries
      assert.deepEqual(copy.apply(index, cmd), original.apply(index, cmd));
    }
    assert.deepEqual(copy.snapshot(), original.snapshot());
  });
}

test("restore refuses bytes that are not a snapshot and keeps the state", () => {
  const s = new KvStore();
  s.apply(1, { type: "put", key: "a", value: enc("1") });
  assert.throws(() => s.restore(enc("hello")), /do not start with PXKV/);
  const good = s.snapshot();
  assert.throws(() => s.restore(good.subarray(0, good.length - 2)), /Cannot decode/);
  assert.equal(s.get("a")?.version, 1);
  const empty = new KvStore();
  empty.restore(new KvStore().snapshot());
  assert.equal(empty.revision, 0);
});
