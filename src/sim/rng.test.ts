import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRng } from "./rng.js";
import { EventQueue } from "./event-queue.js";

describe("seeded generator and event queue", () => {
  it("the same seed gives the same stream; another seed another", () => {
    const draw = (seed: number): number[] => {
      const r = createRng(seed);
      return Array.from({ length: 20 }, () => r.nextU32());
    };
    assert.deepEqual(draw(9), draw(9));
    assert.notDeepEqual(draw(9), draw(10));
  });

  it("int() stays in range and covers it", () => {
    const r = createRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r.int(7);
      assert.ok(v >= 0 && v < 7 && Number.isInteger(v));
      seen.add(v);
    }
    assert.equal(seen.size, 7);
  });

  it("events pop in time order, ties in insertion order", () => {
    const q = new EventQueue<string>();
    const r = createRng(3);
    const pushed: [number, string][] = [];
    for (let i = 0; i < 500; i++) {
      const t = r.int(50);
      q.push(t, `e${i}`);
      pushed.push([t, `e${i}`]);
    }
    const expected = pushed.map((p, i) => ({ t: p[0], name: p[1], i })).sort((a, b) => a.t - b.t || a.i - b.i).map((p) => p.name);
    const popped: string[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(e.event);
    assert.deepEqual(popped, expected);
  });
});
