import { test } from "node:test";
import assert from "node:assert/strict";
import { SORTED_KEYS_CHUNK_MAX, SortedKeys } from "./sorted-keys.js";
import { seededRandom } from "./testkit.js";

function from(set: SortedKeys, key: string, max: number): string[] {
  const out: string[] = [];
  set.forEachFrom(key, (k) => out.push(k) < max);
  return out;
}

test("SortedKeys keeps random inserts in order across chunk splits, and retain() filters", () => {
  const random = seededRandom(7);
  const set = new SortedKeys();
  const model = new Set<string>();
  for (let i = 0; i < SORTED_KEYS_CHUNK_MAX * 6; i++) {
    const key = `k${Math.floor(random() * 1e6)}`;
    if (model.has(key)) continue;
    model.add(key);
    set.insert(key);
  }
  const sorted = [...model].sort();
  assert.deepEqual(set.toArray(), sorted);
  assert.equal(set.size, sorted.length);
  for (const probe of ["", "k5", "k999999", "z", sorted[100] as string]) {
    assert.deepEqual(from(set, probe, 10), sorted.filter((k) => k >= probe).slice(0, 10), `from ${probe}`);
  }
  assert.throws(() => set.insert(sorted[3] as string), /already present/);
  set.retain((k) => k.endsWith("7"));
  assert.deepEqual(set.toArray(), sorted.filter((k) => k.endsWith("7")));
  const rebuilt = SortedKeys.fromSorted(sorted);
  rebuilt.insert("k");
  assert.deepEqual(rebuilt.toArray(), ["k", ...sorted]);
});
