import { test } from "node:test";
import assert from "node:assert/strict";
import { PhalanxError, isSafeToRetry } from "./errors.js";

test("the SDK retries a write only after answers that prove it had no effect", () => {
  const retry = (code: string, status = 503): boolean => isSafeToRetry(new PhalanxError("x", code, status));
  assert.equal(retry("not_leader"), true);
  assert.equal(retry("proposal_dropped"), true);
  assert.equal(retry("unavailable_before_send", 0), true);
  // A stopping node or a failed disk may have put the write in the log already.
  assert.equal(retry("stopped"), false);
  assert.equal(retry("unknown_outcome", 504), false);
  assert.equal(retry("storage_failed", 500), false);
  assert.equal(retry("unavailable", 0), false);
});
