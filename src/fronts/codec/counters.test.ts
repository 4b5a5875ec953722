import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { COUNTER_ERRORS, memcachedIncr, redisIncrBy, type CounterResult } from "./counters.js";
import { bytesOf, textOf } from "./testdata/wire.js";

const show = (r: CounterResult) => (r.ok ? `${r.value}=${textOf(r.text)}` : `!${r.error}`);

describe("redisIncrBy", () => {
  const cases: [string | null, bigint, boolean, string][] = [
    [null, 1n, false, "1=1"],
    ["10", 5n, false, "15=15"],
    ["10", 5n, true, "5=5"],
    ["-3", -4n, false, "-7=-7"],
    ["0", 0n, false, "0=0"],
    ["9223372036854775806", 1n, false, "9223372036854775807=9223372036854775807"],
    ["9223372036854775807", 1n, false, `!${COUNTER_ERRORS.redisOverflow}`],
    ["-9223372036854775808", 1n, true, `!${COUNTER_ERRORS.redisOverflow}`],
    ["0", -(2n ** 63n), true, `!${COUNTER_ERRORS.redisDecrementOverflow}`],
    ["abc", 1n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
    [" 1", 1n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
    ["01", 1n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
    ["1.5", 1n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
    ["", 1n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
    ["9223372036854775808", 0n, false, `!${COUNTER_ERRORS.redisNotInteger}`],
  ];
  for (const [current, delta, decrement, want] of cases) {
    it(`${JSON.stringify(current)} ${decrement ? "-" : "+"} ${delta} → ${want}`, () => {
      assert.equal(show(redisIncrBy(current === null ? null : bytesOf(current), delta, decrement)), want);
    });
  }
});

describe("memcachedIncr", () => {
  const cases: [string, bigint, boolean, string][] = [
    ["5", 3n, true, "8=8"],
    ["5", 3n, false, "2=2"],
    ["5", 9n, false, "0=0"],
    ["18446744073709551615", 2n, true, "1=1"],
    ["  42  ", 1n, true, "43=43"],
    ["7\t", 1n, true, "8=8"],
    ["00012", 1n, true, "13=13"],
    ["18446744073709551616", 1n, true, `!${COUNTER_ERRORS.memcachedNonNumeric}`],
    ["-1", 1n, true, `!${COUNTER_ERRORS.memcachedNonNumeric}`],
    ["12abc", 1n, true, `!${COUNTER_ERRORS.memcachedNonNumeric}`],
    ["", 1n, true, `!${COUNTER_ERRORS.memcachedNonNumeric}`],
    ["1 2", 1n, true, `!${COUNTER_ERRORS.memcachedNonNumeric}`],
  ];
  for (const [current, delta, incr, want] of cases) {
    it(`${JSON.stringify(current)} ${incr ? "incr" : "decr"} ${delta} → ${want}`, () => {
      assert.equal(show(memcachedIncr(bytesOf(current), delta, incr)), want);
    });
  }
});
