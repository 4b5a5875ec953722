import { test } from "node:test";
import assert from "node:assert/strict";
import { ActingChecker, FailoverViolationFound } from "./checkers.js";

function violationOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (err instanceof FailoverViolationFound) return err.violation.checker;
    throw err;
  }
}

test("a second instance starting to act while another acts is a two-actives violation", () => {
  const c = new ActingChecker();
  c.start(1, 5, 100);
  c.now = 10;
  assert.equal(violationOf(() => c.start(2, 9, 200)), "two-actives");
});

test("a handover after the old active stopped is fine and its gap is measured", () => {
  const c = new ActingChecker();
  c.start(1, 5, 100);
  c.now = 10;
  c.stop(1);
  c.now = 25;
  c.start(2, 9, 200);
  assert.equal(c.closestHandoverUs, 15);
  assert.equal(c.anyActing, true);
});

test("a new holder with a token not above every earlier one is a token-order violation; a resumption keeps its token", () => {
  const c = new ActingChecker();
  c.start(1, 5, 100);
  c.stop(1);
  c.start(1, 5, 100); // the same holder resumes after a freeze
  c.stop(1);
  assert.equal(violationOf(() => c.start(2, 5, 200)), "token-order");
});

test("an instance still acting when its lease is removed is an acting-past-lease violation", () => {
  const c = new ActingChecker();
  c.start(1, 5, 100);
  c.leaseRemoved(99);
  assert.equal(violationOf(() => c.leaseRemoved(100)), "acting-past-lease");
});
