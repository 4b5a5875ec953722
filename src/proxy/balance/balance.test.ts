// Distribution tests for every balancing algorithm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConsistentHash } from "./consistentHash.js";
import { createBalancer, seededRandomInt } from "./create.js";
import { LeastConnections } from "./leastConnections.js";
import { PowerOfTwoChoices } from "./powerOfTwo.js";
import { RoundRobin } from "./roundRobin.js";
import type { Balancer, Candidate } from "./types.js";
import { WeightedRoundRobin } from "./weightedRoundRobin.js";

interface MutableCandidate extends Candidate {
  active: number;
}

function backends(weights: readonly number[]): MutableCandidate[] {
  return weights.map((weight, i) => ({ id: `b${i}`, weight, active: 0 }));
}

function countPicks(balancer: Balancer, candidates: readonly Candidate[], picks: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const c = balancer.pick(candidates, `key-${i}`);
    assert.ok(c);
    counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
  }
  return counts;
}

test("every algorithm returns null when there is no candidate", () => {
  for (const algorithm of ["round-robin", "weighted-round-robin", "least-connections", "p2c", "consistent-hash"] as const) {
    assert.equal(createBalancer(algorithm, seededRandomInt(1)).pick([], "k"), null, algorithm);
  }
});

test("round robin visits backends in turn", () => {
  const rr = new RoundRobin();
  const list = backends([1, 5, 1]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => rr.pick(list)?.id), ["b0", "b1", "b2", "b0", "b1", "b2"]);
});

test("smooth weighted round robin gives each backend exactly its weight per cycle, interleaved", () => {
  const wrr = new WeightedRoundRobin();
  const list = backends([5, 1, 1]);
  // nginx's documented sequence for weights {5, 1, 1}: a a b a c a a.
  assert.deepEqual(
    Array.from({ length: 7 }, () => wrr.pick(list)?.id),
    ["b0", "b0", "b1", "b0", "b2", "b0", "b0"],
  );
  const counts = countPicks(wrr, backends([3, 2, 1]), 6000);
  assert.deepEqual([counts.get("b0"), counts.get("b1"), counts.get("b2")], [3000, 2000, 1000]);
});

test("least connections prefers the least loaded backend relative to its weight", () => {
  const lc = new LeastConnections();
  const list = backends([1, 1, 2]);
  list[0]!.active = 3;
  list[1]!.active = 1;
  list[2]!.active = 3; // (3+1)/2 = 2 equals b1's (1+1)/1 = 2: a tie with b1, b0 loses
  const picked = new Set(Array.from({ length: 6 }, () => lc.pick(list)?.id));
  assert.deepEqual([...picked].sort(), ["b1", "b2"]);
});

test("least connections rotates among tied backends and keeps weighted shares under load", () => {
  const lc = new LeastConnections();
  const equal = backends([1, 1, 1]);
  const idle = countPicks(lc, equal, 300);
  assert.deepEqual([idle.get("b0"), idle.get("b1"), idle.get("b2")], [100, 100, 100]);

  // Simulate requests that stay open: each pick adds one connection. Shares follow the weights.
  const weighted = backends([1, 3]);
  for (let i = 0; i < 400; i++) {
    const c = lc.pick(weighted) as MutableCandidate;
    c.active += 1;
  }
  assert.equal(weighted[0]!.active, 100);
  assert.equal(weighted[1]!.active, 300);
});

test("power of two choices balances open connections and is deterministic under a seed", () => {
  const run = (seed: number): number[] => {
    const p2c = new PowerOfTwoChoices(seededRandomInt(seed));
    const list = backends([1, 1, 1, 1]);
    for (let i = 0; i < 4000; i++) {
      const c = p2c.pick(list) as MutableCandidate;
      c.active += 1;
      // Requests finish at random-ish times: release one connection somewhere every other pick.
      if (i % 2 === 1) {
        const victim = list[i % 4]!;
        if (victim.active > 0) victim.active -= 1;
      }
    }
    return list.map((c) => c.active);
  };
  const loads = run(42);
  assert.deepEqual(run(42), loads);
  const spread = Math.max(...loads) - Math.min(...loads);
  assert.ok(spread <= 3, `loads ${loads.join(",")} should stay within 3 of each other`);
});

test("power of two choices never picks the more loaded of two and never repeats a draw", () => {
  const list = backends([1, 1]);
  list[0]!.active = 10;
  const p2c = new PowerOfTwoChoices(seededRandomInt(7));
  for (let i = 0; i < 100; i++) assert.equal(p2c.pick(list)?.id, "b1");
  const one = backends([1]);
  assert.equal(p2c.pick(one)?.id, "b0");
});

test("power of two choices spreads idle picks evenly", () => {
  const counts = countPicks(new PowerOfTwoChoices(seededRandomInt(3)), backends([1, 1, 1, 1]), 8000);
  for (const id of ["b0", "b1", "b2", "b3"]) {
    const share = (counts.get(id) ?? 0) / 8000;
    assert.ok(share > 0.2 && share < 0.3, `${id} share ${share}`);
  }
});

test("consistent hashing is sticky: the same key always goes to the same backend", () => {
  const ch = new ConsistentHash();
  const list = backends([1, 1, 1, 1, 1]);
  for (let i = 0; i < 200; i++) {
    const key = `10.0.${i % 256}.${i}`;
    assert.equal(ch.pick(list, key)?.id, ch.pick(list, key)?.id);
    // A rebuilt balancer (another proxy node) agrees.
    assert.equal(new ConsistentHash().pick(list, key)?.id, ch.pick(list, key)?.id);
  }
});

test("consistent hashing spreads keys by weight", () => {
  const ch = new ConsistentHash();
  const counts = countPicks(ch, backends([1, 1, 2]), 20000);
  const share = (id: string): number => (counts.get(id) ?? 0) / 20000;
  assert.ok(Math.abs(share("b0") - 0.25) < 0.05, `b0 ${share("b0")}`);
  assert.ok(Math.abs(share("b1") - 0.25) < 0.05, `b1 ${share("b1")}`);
  assert.ok(Math.abs(share("b2") - 0.5) < 0.06, `b2 ${share("b2")}`);
});

test("consistent hashing moves only about 1/n of the keys when a backend joins or leaves", () => {
  const keys = Array.from({ length: 10000 }, (_, i) => `user-${i}`);
  const five = backends([1, 1, 1, 1, 1]);
  const six = [...five, { id: "b5", weight: 1, active: 0 }];
  const fresh = new ConsistentHash();
  const before = keys.map((k) => fresh.pick(five, k)?.id);
  const ch = new ConsistentHash();
  const after = keys.map((k) => ch.pick(six, k)?.id);
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (before[i] !== after[i]) {
      moved += 1;
      assert.equal(after[i], "b5", "a key only ever moves to the new backend");
    }
  }
  const share = moved / keys.length;
  assert.ok(share > 1 / 6 - 0.05 && share < 1 / 6 + 0.05, `moved share ${share}`);

  // Leaving: only the keys of the removed backend move, whether the ring is rebuilt or walked past it.
  const withoutB2 = five.filter((c) => c.id !== "b2");
  const walked = keys.map((k) => ch.pick(withoutB2, k)?.id);
  const rebuiltRing = new ConsistentHash();
  const rebuilt = keys.map((k) => rebuiltRing.pick(withoutB2, k)?.id);
  assert.deepEqual(walked, rebuilt);
  for (let i = 0; i < keys.length; i++) {
    if (before[i] !== "b2") assert.equal(walked[i], before[i]);
    else assert.notEqual(walked[i], "b2");
  }
});
