import { test } from "node:test";
import assert from "node:assert/strict";
import { isRetryable } from "./outcome.js";

test("only refusals that certainly happened before the log are retryable", () => {
  for (const code of ["not_leader", "no_leader", "overloaded", "config_change_pending", "proposal_dropped", "read_timeout"]) {
    assert.equal(isRetryable(code), true, code);
  }
  // A write that may be in some log can still commit: a retry could apply it twice.
  for (const code of ["unknown_outcome", "stopped", "storage_failed", "bad_request", "unauthenticated", "no_such_code"]) {
    assert.equal(isRetryable(code), false, code);
  }
});
