import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StorageModel } from "./storage-model.js";
import { createRng } from "./rng.js";
import type { Entry, NodeId } from "../raft/types.js";

const entry = (index: number, term: number): Entry => ({ index, term, type: "normal", data: new Uint8Array([index]) });
const node = (n: number): NodeId => n as NodeId;

describe("storage model", () => {
  it("keeps synced writes across a crash", () => {
    const s = new StorageModel();
    s.write([{ kind: "entries", entries: [entry(1, 1), entry(2, 1)] }, { kind: "hardState", hardState: { term: 1, vote: node(2), commit: 1 } }]);
    s.sync();
    s.crash(createRng(1));
    const r = s.restore(null);
    assert.equal(r.entries.length, 2);
    assert.deepEqual(r.hardState, { term: 1, vote: 2, commit: 1 });
  });

  it("loses unsynced writes except a prefix, and may tear the first lost batch", () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const s = new StorageModel();
      s.write([{ kind: "entries", entries: [entry(1, 1)] }]);
      s.sync();
      s.write([
        { kind: "hardState", hardState: { term: 2, vote: node(1), commit: 1 } },
        { kind: "entries", entries: [entry(2, 2), entry(3, 2), entry(4, 2)] },
      ]);
      s.crash(createRng(seed));
      const r = s.restore(null);
      // Always a prefix: the entries survive only if the hard state before them did.
      if (r.entries.length > 1) assert.equal(r.hardState.term, 2);
      assert.ok(r.entries.every((e, i) => e.index === i + 1));
      outcomes.add(`${r.hardState.term}/${r.entries.length}`);
    }
    // Nothing lost, everything lost, and torn batches all happen.
    assert.ok(outcomes.has("0/1") && outcomes.has("2/4") && (outcomes.has("2/2") || outcomes.has("2/3")), [...outcomes].join(" "));
  });

  it("overwrites a conflicting suffix and compacts behind a snapshot", () => {
    const s = new StorageModel();
    s.write([{ kind: "entries", entries: [entry(1, 1), entry(2, 1), entry(3, 1)] }]);
    s.write([{ kind: "entries", entries: [entry(2, 2)] }]);
    s.sync();
    assert.deepEqual(s.durable.entries.map((e) => `${e.index}/${e.term}`), ["1/1", "2/2"]);
    s.compact({ meta: { index: 1, term: 1, confState: { voters: [node(1)], learners: [] } }, data: new Uint8Array() });
    const r = s.restore(null);
    assert.equal(r.snapshot?.meta.index, 1);
    assert.deepEqual(r.entries.map((e) => e.index), [2]);
  });
});
