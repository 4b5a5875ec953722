import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redisGlobMatch } from "./redis-glob.js";
import { bytesOf } from "./testdata/wire.js";

const match = (pattern: string, subject: string, nocase = false) => redisGlobMatch(bytesOf(pattern), bytesOf(subject), nocase);

describe("redisGlobMatch", () => {
  const cases: [string, string, boolean][] = [
    ["*", "", true],
    ["*", "anything", true],
    ["sess:*", "sess:abc", true],
    ["sess:*", "session", false],
    ["h?llo", "hello", true],
    ["h?llo", "hllo", false],
    ["h*llo", "heeeello", true],
    ["h*llo", "hllo", true],
    ["h[ae]llo", "hallo", true],
    ["h[ae]llo", "hillo", false],
    ["h[^e]llo", "hallo", true],
    ["h[^e]llo", "hello", false],
    ["h[a-b]llo", "hbllo", true],
    ["h[b-a]llo", "hbllo", true],
    ["h[a-b]llo", "hcllo", false],
    ["h\\*llo", "h*llo", true],
    ["h\\*llo", "hello", false],
    ["[\\]]", "]", true],
    ["a[bc", "ab", true],
    ["a*b*c", "aXXbYYc", true],
    ["a*b*c", "aXXbYY", false],
    ["*a", "bbba", true],
    ["**a**", "a", true],
    ["", "", true],
    ["", "x", false],
    ["abc", "abcd", false],
  ];
  for (const [pattern, subject, want] of cases) {
    it(`${JSON.stringify(pattern)} ${want ? "matches" : "does not match"} ${JSON.stringify(subject)}`, () => {
      assert.equal(match(pattern, subject), want);
    });
  }

  it("matches case-insensitively on request", () => {
    assert.equal(match("SESS:[A-C]*", "sess:b1", true), true);
    assert.equal(match("SESS:[A-C]*", "sess:b1"), false);
  });

  it("a pathological pattern finishes quickly (no exponential backtracking)", () => {
    const pattern = "a*".repeat(30) + "b";
    const subject = "a".repeat(5000);
    assert.equal(match(pattern, subject), false);
  });
});
