import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MEMCACHED_RELATIVE_EXPTIME_MAX_S, memcachedDeadline } from "./memcached-expiry.js";

// 2026-12-04T12:00:00Z, a fixed "now" so the absolute-time cases are exact.
const NOW_MS = Date.UTC(2026, 11, 4, 12, 0, 0);
const NOW_S = NOW_MS / 1000;

describe("memcachedDeadline", () => {
  it("0 never expires", () => {
    assert.deepEqual(memcachedDeadline(0, NOW_MS), { kind: "never" });
  });

  it("a negative exptime is already expired", () => {
    assert.deepEqual(memcachedDeadline(-1, NOW_MS), { kind: "expired" });
    assert.deepEqual(memcachedDeadline(-2147483648, NOW_MS), { kind: "expired" });
  });

  it("1 second is relative to now", () => {
    assert.deepEqual(memcachedDeadline(1, NOW_MS), { kind: "at", atMs: NOW_MS + 1000 });
  });

  it("exactly 30 days (2592000) is still relative", () => {
    assert.equal(MEMCACHED_RELATIVE_EXPTIME_MAX_S, 2592000);
    assert.deepEqual(memcachedDeadline(2592000, NOW_MS), { kind: "at", atMs: NOW_MS + 2592000 * 1000 });
  });

  it("2592001 is an absolute Unix time in January 1970, so already expired", () => {
    assert.deepEqual(memcachedDeadline(2592001, NOW_MS), { kind: "expired" });
  });

  it("an absolute time in the future is kept as is", () => {
    assert.deepEqual(memcachedDeadline(NOW_S + 3600, NOW_MS), { kind: "at", atMs: (NOW_S + 3600) * 1000 });
  });

  it("an absolute time equal to now is expired; one second later is not", () => {
    assert.deepEqual(memcachedDeadline(NOW_S, NOW_MS), { kind: "expired" });
    assert.deepEqual(memcachedDeadline(NOW_S + 1, NOW_MS), { kind: "at", atMs: NOW_MS + 1000 });
  });

  it("a binary-protocol exptime above 2^31 (unsigned) is a far-future absolute time", () => {
    assert.deepEqual(memcachedDeadline(0xffffffff, NOW_MS), { kind: "at", atMs: 0xffffffff * 1000 });
  });

  it("refuses a non-integer (a parser bug)", () => {
    assert.throws(() => memcachedDeadline(1.5, NOW_MS), /not an integer/);
  });
});
