// The overlap checker's analysis on hand-made read sequences (no root needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { findOverlaps } from "./vip-overlap.js";
import type { VipRead } from "./vip-overlap.js";

const seq = (pattern: string): VipRead[] =>
  // "1H 2- 1H": host h1 held, h2 not, h1 held ...
  pattern.split(" ").map((s, i) => ({ host: `h${s[0]}`, held: s[1] === "H", atMs: i }));

test("release then acquire is no overlap; acquire then release is one", () => {
  assert.deepEqual(findOverlaps(seq("1H 2- 1H 2- 1- 2- 1- 2H 1- 2H")), []);
  assert.deepEqual(findOverlaps(seq("1H 2- 1H 2H 1H 2H 1- 2H")), [{ atMs: 3, hosts: ["h1", "h2"] }, { atMs: 4, hosts: ["h2", "h1"] }]);
});

test("a holder seen only on one side of the other's read is not claimed as an overlap", () => {
  // h1 held at read 0, not at read 2: h2's read 1 may have come after h1 let go.
  assert.deepEqual(findOverlaps(seq("1H 2H 1- 2H")), []);
  // Nothing after h2's read: no proof either.
  assert.deepEqual(findOverlaps(seq("1H 2H")), []);
});
