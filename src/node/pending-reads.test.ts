// ReadIndex rounds (pending-reads.ts): a round asked of a leader that changed is asked again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PendingReads } from "./pending-reads.js";
import type { Refusal } from "./outcome.js";

test("retryRound() puts the round's reads back ahead of newer ones; the old round's late answer is ignored", () => {
  const reads = new PendingReads("t");
  const settled: string[] = [];
  const read = (name: string) => (err: Refusal | null): void => void settled.push(`${name}:${err === null ? "ok" : err.code}`);
  reads.enqueue(read("a"));
  const first = reads.startRound(0);
  assert.ok(first !== null);
  reads.enqueue(read("b"));
  assert.equal(reads.startRound(1), null, "one round in flight at a time");

  reads.retryRound();
  reads.readState(first, 5, 5); // the old leader's answer, after the change: not this node's round any more
  assert.deepEqual(settled, []);

  const second = reads.startRound(2);
  assert.ok(second !== null && second !== first);
  reads.readState(second, 7, 6);
  assert.deepEqual(settled, [], "released only once applied up to the read index");
  reads.applied(7);
  assert.deepEqual(settled, ["a:ok", "b:ok"]);
});

test("retryRound() with no round in flight changes nothing", () => {
  const reads = new PendingReads("t");
  reads.retryRound();
  assert.equal(reads.startRound(0), null);
});
