// The simulated network between nodes: per-link cuts (partitions of several shapes, which may
// overlap and heal independently) and per-message fate (drop, duplicate, delay; random delays
// reorder messages). All randomness comes from the schedule's generator.
import type { Rng } from "./rng.js";

/** Largest node id the simulator uses (ids start at 1). */
export const MAX_SIM_NODES = 8;
const WIDTH = MAX_SIM_NODES + 1;

/** How lossy and slow the network is right now. */
export interface LinkQuality {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  /** Chance that a message takes a long detour (the main source of reordering). */
  readonly slowProbability: number;
  readonly minDelayUs: number;
  readonly maxDelayUs: number;
  readonly slowMaxDelayUs: number;
}

/** A network with no loss and LAN latency: used after faults heal. */
export const CALM_NETWORK: LinkQuality = {
  dropProbability: 0,
  duplicateProbability: 0,
  slowProbability: 0,
  minDelayUs: 100,
  maxDelayUs: 1_000,
  slowMaxDelayUs: 1_000,
};

/** One set of directed links cut together, healed together. */
export interface Cut {
  readonly id: number;
  readonly description: string;
  readonly links: readonly (readonly [number, number])[];
}

/** Links between simulated nodes. */
export class Network {
  private readonly blocked = new Uint16Array(WIDTH * WIDTH);
  private readonly cuts = new Map<number, Cut>();
  private nextCutId = 1;
  quality: LinkQuality = CALM_NETWORK;

  /** True when messages from `from` to `to` cannot pass. */
  isBlocked(from: number, to: number): boolean {
    return (this.blocked[from * WIDTH + to] as number) > 0;
  }

  /** Cuts a set of directed links; returns the cut so it can be healed later. */
  cut(description: string, links: readonly (readonly [number, number])[]): Cut {
    const c: Cut = { id: this.nextCutId++, description, links };
    for (const [a, b] of links) (this.blocked[a * WIDTH + b] as number)++;
    this.cuts.set(c.id, c);
    return c;
  }

  /** Restores the links of one cut (other cuts stay). */
  heal(cutId: number): Cut | undefined {
    const c = this.cuts.get(cutId);
    if (c === undefined) return undefined;
    for (const [a, b] of c.links) (this.blocked[a * WIDTH + b] as number)--;
    this.cuts.delete(cutId);
    return c;
  }

  /** Restores every link. */
  healAll(): void {
    for (const id of [...this.cuts.keys()]) this.heal(id);
  }

  /** Number of cuts in force. */
  get activeCuts(): number {
    return this.cuts.size;
  }

  /** Delivery delays for one message: empty when dropped, two entries when duplicated. */
  fate(rng: Rng): number[] {
    const q = this.quality;
    if (q.dropProbability > 0 && rng.chance(q.dropProbability)) return [];
    if (q.duplicateProbability > 0 && rng.chance(q.duplicateProbability)) return [this.delay(rng), this.delay(rng)];
    return [this.delay(rng)];
  }

  private delay(rng: Rng): number {
    const q = this.quality;
    return q.slowProbability > 0 && rng.chance(q.slowProbability)
      ? rng.range(q.maxDelayUs, Math.max(q.maxDelayUs, q.slowMaxDelayUs))
      : rng.range(q.minDelayUs, q.maxDelayUs);
  }
}

/** Links that separate two groups in both directions. */
export function linksBetween(a: readonly number[], b: readonly number[]): [number, number][] {
  const links: [number, number][] = [];
  for (const x of a) for (const y of b) links.push([x, y], [y, x]);
  return links;
}

/** Links from group a to group b only (a one-way cut: b still reaches a). */
export function linksFrom(a: readonly number[], b: readonly number[]): [number, number][] {
  const links: [number, number][] = [];
  for (const x of a) for (const y of b) links.push([x, y]);
  return links;
}
