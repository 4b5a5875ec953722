// A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) so one seed
// reproduces a whole simulated schedule. Math.random is never used in the simulator.

/** A deterministic stream of pseudo-random numbers derived from one seed. */
export interface Rng {
  /** The next 32-bit unsigned integer. */
  nextU32(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number;
  /** A float in [0, 1). */
  float(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new generator whose stream is independent of this one's future draws. */
  fork(): Rng;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Makes a xoshiro128** generator from a seed (any safe integer). */
export function createRng(seed: number): Rng {
  const init = { s: (seed ^ Math.floor(seed / 0x100000000)) | 0 };
  let a = splitmix32(init);
  let b = splitmix32(init);
  let c = splitmix32(init);
  let d = splitmix32(init);
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point of xoshiro
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const float = (): number => nextU32() / 0x100000000;
  const int = (n: number): number => {
    if (!(n > 0)) throw new Error(`Cannot draw an integer below ${n}: the bound must be positive`);
    return Math.floor(float() * n);
  };
  return {
    nextU32,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    float,
    chance: (p) => float() < p,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(items.length)];
      if (item === undefined) throw new Error("Cannot pick from an empty array");
      return item;
    },
    fork: () => createRng(nextU32() * 0x100000 + (nextU32() & 0xfffff)),
  };
}
