import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkLinearizable } from "./checker.js";
import { bruteForceLinearizable } from "./brute-force.js";
import { registerModel } from "./register-model.js";
import type { RegisterInput, RegisterOutput, RegisterValue } from "./register-model.js";
import type { Model, Operation } from "./model.js";
import { createRng } from "../rng.js";
import type { Rng } from "../rng.js";

type Op = Operation<RegisterInput, RegisterOutput>;

function read(key: string, value: RegisterValue, call: number, ret: number, clientId = 0): Op {
  return { clientId, input: { kind: "read", key }, output: { kind: "read", value }, callTime: call, returnTime: ret };
}
function write(key: string, value: number, call: number, ret: number, clientId = 0): Op {
  return { clientId, input: { kind: "write", key, value }, output: { kind: "write" }, callTime: call, returnTime: ret };
}
function cas(key: string, expected: RegisterValue, value: number, ok: boolean, call: number, ret: number, clientId = 0): Op {
  return { clientId, input: { kind: "cas", key, expected, value }, output: { kind: "cas", ok }, callTime: call, returnTime: ret };
}
function timedOut(op: Op): Op {
  return { ...op, output: null, returnTime: Infinity };
}
const verdict = (history: Op[]): string => checkLinearizable(registerModel, history).verdict;

describe("linearizability checker on hand-made histories", () => {
  it("accepts sequential writes and reads", () => {
    assert.equal(verdict([write("x", 1, 0, 1), read("x", 1, 2, 3), write("x", 2, 4, 5), read("x", 2, 6, 7)]), "ok");
  });
  it("accepts a read of the initial value before any write", () => {
    assert.equal(verdict([read("x", null, 0, 1), write("x", 1, 2, 3)]), "ok");
  });
  it("rejects a stale read after a completed write", () => {
    assert.equal(verdict([write("x", 1, 0, 1), write("x", 2, 2, 3), read("x", 1, 4, 5)]), "illegal");
  });
  it("rejects a lost write: a later read sees the value from before it", () => {
    assert.equal(verdict([write("x", 1, 0, 1), write("x", 2, 2, 3, 1), read("x", 1, 10, 11, 2)]), "illegal");
  });
  it("rejects a read of a value nobody wrote", () => {
    assert.equal(verdict([write("x", 1, 0, 1), read("x", 7, 2, 3)]), "illegal");
  });
  it("accepts concurrent reads that see either side of an overlapping write", () => {
    const h = [write("x", 1, 0, 1), write("x", 2, 2, 10, 1), read("x", 1, 3, 4, 2), read("x", 2, 5, 6, 3), read("x", 2, 11, 12, 2)];
    assert.equal(verdict(h), "ok");
  });
  it("rejects reads that observe an overlapping write, then un-observe it", () => {
    const h = [write("x", 1, 0, 1), write("x", 2, 2, 10, 1), read("x", 2, 3, 4, 2), read("x", 1, 5, 6, 3)];
    assert.equal(verdict(h), "illegal");
  });
  it("accepts a compare-and-swap chain in real-time order", () => {
    const h = [write("x", 1, 0, 1), cas("x", 1, 2, true, 2, 3), cas("x", 1, 3, false, 4, 5), cas("x", 2, 3, true, 6, 7), read("x", 3, 8, 9)];
    assert.equal(verdict(h), "ok");
  });
  it("rejects reordered compare-and-swaps: the second succeeds before the first in real time", () => {
    const h = [write("x", 1, 0, 1), cas("x", 2, 3, true, 2, 3), cas("x", 1, 2, true, 4, 5)];
    assert.equal(verdict(h), "illegal");
  });
  it("rejects two successful compare-and-swaps from the same expected value", () => {
    const h = [write("x", 1, 0, 1), cas("x", 1, 2, true, 2, 6, 1), cas("x", 1, 3, true, 3, 7, 2)];
    assert.equal(verdict(h), "illegal");
  });
  it("accepts a timed-out write that took effect, seen by a later read", () => {
    assert.equal(verdict([write("x", 1, 0, 1), timedOut(write("x", 2, 2, 3)), read("x", 2, 10, 11)]), "ok");
  });
  it("accepts a timed-out write that never took effect", () => {
    assert.equal(verdict([write("x", 1, 0, 1), timedOut(write("x", 2, 2, 3)), read("x", 1, 10, 11)]), "ok");
  });
  it("rejects a timed-out write seen and then un-seen", () => {
    const h = [write("x", 1, 0, 1), timedOut(write("x", 2, 2, 3)), read("x", 2, 10, 11), read("x", 1, 12, 13)];
    assert.equal(verdict(h), "illegal");
  });
  it("rejects a read observing a timed-out write before it was called", () => {
    assert.equal(verdict([read("x", 2, 0, 1), timedOut(write("x", 2, 2, 3))]), "illegal");
  });
  it("checks keys independently: a violation on one key is found among legal keys", () => {
    const h = [write("a", 1, 0, 1), write("b", 5, 0, 1), read("a", 1, 2, 3), write("b", 6, 2, 3), read("b", 5, 4, 5)];
    const result = checkLinearizable(registerModel, h);
    assert.equal(result.verdict, "illegal");
    assert.equal(result.key, "b");
  });
  it("treats operations that touch at one instant as concurrent", () => {
    assert.equal(verdict([write("x", 1, 0, 5), read("x", null, 5, 6)]), "ok");
  });
  it("answers unknown instead of searching without bound", () => {
    // Many concurrent writes and a read of a value that no write produced: the search must give up.
    const h: Op[] = [];
    for (let i = 0; i < 24; i++) h.push(write("x", i + 1, 0, 100, i));
    h.push(read("x", 999, 101, 102, 99));
    assert.equal(checkLinearizable(registerModel, h, { maxStepsPerKey: 1000 }).verdict, "unknown");
  });
  it("handles a long sequential history quickly", () => {
    const h: Op[] = [];
    for (let i = 0; i < 5000; i++) h.push(i % 2 === 0 ? write("x", i, 2 * i, 2 * i + 1) : read("x", i - 1, 2 * i, 2 * i + 1));
    assert.equal(verdict(h), "ok");
  });
});

// A model with every key in one state, so the brute-force checker sees whole multi-key histories
// and the cross-check also covers the real checker's split by key.
const wholeStoreModel: Model<string, RegisterInput, RegisterOutput> = {
  init: () => "{}",
  partitionKey: () => "all",
  step(state, input, output) {
    const map = JSON.parse(state) as Record<string, RegisterValue>;
    const result = registerModel.step(map[input.key] ?? null, input, output);
    if (result.state === null) return { ok: result.ok, state };
    map[input.key] = result.state;
    const sorted = Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
    return { ok: result.ok, state: JSON.stringify(sorted) };
  },
};

function randomHistory(rng: Rng, keys: readonly string[]): Op[] {
  const count = rng.range(1, 7);
  const ops: Op[] = [];
  // Half the histories come from a real sequential execution at random points inside each
  // interval (so they are linearizable), half get random outputs (mostly not).
  const honest = rng.chance(0.5);
  const intervals = Array.from({ length: count }, () => {
    const call = rng.int(12);
    return { call, ret: call + rng.int(6), point: 0 };
  });
  for (const iv of intervals) iv.point = iv.call + rng.float() * (iv.ret - iv.call);
  const order = intervals.map((_, i) => i).sort((a, b) => (intervals[a]?.point ?? 0) - (intervals[b]?.point ?? 0));
  const state = new Map<string, RegisterValue>();
  const outputs: (RegisterOutput | null)[] = new Array<RegisterOutput | null>(count).fill(null);
  const inputs: RegisterInput[] = [];
  let nextValue = 1;
  for (let i = 0; i < count; i++) {
    const key = rng.pick(keys);
    const r = rng.int(3);
    if (r === 0) inputs.push({ kind: "read", key });
    else if (r === 1) inputs.push({ kind: "write", key, value: nextValue++ });
    else inputs.push({ kind: "cas", key, expected: rng.chance(0.3) ? null : rng.range(1, 3), value: nextValue++ });
  }
  for (const i of order) {
    const input = inputs[i] as RegisterInput;
    const current = state.get(input.key) ?? null;
    const randomValue = rng.chance(0.2) ? null : rng.range(1, Math.max(1, nextValue - 1));
    if (input.kind === "read") outputs[i] = { kind: "read", value: honest ? current : randomValue };
    else if (input.kind === "write") {
      outputs[i] = { kind: "write" };
      state.set(input.key, input.value);
    } else {
      const ok = honest ? current === input.expected : rng.chance(0.5);
      outputs[i] = { kind: "cas", ok };
      if (current === input.expected) state.set(input.key, input.value);
    }
  }
  for (let i = 0; i < count; i++) {
    const iv = intervals[i] as { call: number; ret: number };
    const lost = rng.chance(0.15);
    ops.push({
      clientId: i,
      input: inputs[i] as RegisterInput,
      output: lost ? null : (outputs[i] as RegisterOutput),
      callTime: iv.call,
      returnTime: lost ? Infinity : iv.ret,
    });
  }
  return ops;
}

describe("linearizability checker against a brute-force checker", () => {
  it("agrees on 2000 random single-key histories of up to 7 operations", () => {
    const rng = createRng(20260101);
    let illegal = 0;
    for (let n = 0; n < 2000; n++) {
      const h = randomHistory(rng, ["x"]);
      const expected = bruteForceLinearizable(registerModel, h);
      const actual = checkLinearizable(registerModel, h).verdict;
      assert.equal(actual, expected ? "ok" : "illegal", `history ${n}: ${JSON.stringify(h)}`);
      if (!expected) illegal++;
    }
    // Both kinds must be well represented, or the cross-check proves little.
    assert.ok(illegal > 300 && illegal < 1700, `illegal histories: ${illegal}`);
  });
  it("agrees on 1000 random two-key histories (checks the split by key)", () => {
    const rng = createRng(7);
    for (let n = 0; n < 1000; n++) {
      const h = randomHistory(rng, ["x", "y"]);
      const expected = bruteForceLinearizable(wholeStoreModel, h);
      assert.equal(checkLinearizable(registerModel, h).verdict, expected ? "ok" : "illegal", `history ${n}: ${JSON.stringify(h)}`);
    }
  });
});
