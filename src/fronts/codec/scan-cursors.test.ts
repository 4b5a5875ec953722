import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ScanCursorTable } from "./scan-cursors.js";

describe("ScanCursorTable", () => {
  it("cursor 0 starts a scan and a finished scan replies 0", () => {
    const t = new ScanCursorTable();
    assert.equal(t.resumeAfter(0n), null);
    assert.equal(t.issue(null), 0n);
  });

  it("a cursor resumes after the key it was issued for, once", () => {
    const t = new ScanCursorTable();
    const c = t.issue("/phalanx/fronts/redis/0/sess:42");
    assert.notEqual(c, 0n);
    assert.equal(t.resumeAfter(c), "/phalanx/fronts/redis/0/sess:42");
    assert.equal(t.resumeAfter(c), null, "a reused cursor restarts rather than skipping keys");
  });

  it("an unknown cursor restarts from the beginning", () => {
    assert.equal(new ScanCursorTable().resumeAfter(123n), null);
  });

  it("keeps at most its bound, dropping the oldest cursors first", () => {
    const t = new ScanCursorTable(3);
    const cursors = ["a", "b", "c", "d"].map((k) => t.issue(k));
    assert.equal(t.size, 3);
    assert.equal(t.resumeAfter(cursors[0] as bigint), null);
    assert.equal(t.resumeAfter(cursors[3] as bigint), "d");
  });

  it("refuses a bound that is not a positive integer", () => {
    assert.throws(() => new ScanCursorTable(0), /positive integer/);
  });
});
