// Log rotation decisions: when to rotate and which renames make room.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mustRotate, rotationPlan } from "./log-rotation.js";

test("mustRotate rotates before a write would pass the size, never an empty file", () => {
  const r = { maxFileBytes: 100, keepFiles: 2 };
  assert.equal(mustRotate(60, 40, r), false);
  assert.equal(mustRotate(60, 41, r), true);
  assert.equal(mustRotate(0, 500, r), false, "a batch larger than the limit still goes into a fresh file");
});

test("rotationPlan drops the oldest and shifts the rest, oldest first", () => {
  assert.deepEqual(rotationPlan("a.log", { maxFileBytes: 1, keepFiles: 3 }), {
    drop: "a.log.3",
    renames: [["a.log.2", "a.log.3"], ["a.log.1", "a.log.2"], ["a.log", "a.log.1"]],
  });
  assert.deepEqual(rotationPlan("a.log", { maxFileBytes: 1, keepFiles: 0 }), { drop: "a.log", renames: [] });
});
