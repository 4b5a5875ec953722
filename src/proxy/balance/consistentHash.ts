// Consistent hashing on a ring with virtual nodes. Each backend owns `virtualNodesPerWeight ×
// weight` points; a key goes to the owner of the first point at or after its hash. When a backend
// joins or leaves, only the keys on the arcs it gains or loses move (≈ 1/n of them).
//
// The ring may hold more members than the current candidates (a backend ejected or excluded for a
// retry): the walk then skips points whose owner is not a candidate, which sends a key exactly where
// a ring rebuilt without that backend would, so no rebuild is needed for temporary absences.
import { hash32 } from "./hash.js";
import type { Balancer, Candidate } from "./types.js";

/** Points per unit of weight; 160 keeps the spread within a few percent for small pools. */
export const DEFAULT_VIRTUAL_NODES_PER_WEIGHT = 160;
/** Bound on ring points, whatever the weights, so a rebuild stays cheap. */
export const MAX_RING_POINTS = 65_536;
/** Absent members tolerated on the ring (beyond the candidate count) before it is rebuilt. */
const ABSENT_MEMBER_SLACK = 16;

interface Ring {
  readonly points: Uint32Array;
  readonly owners: readonly string[];
  /** Member id → weight the ring was built with. */
  readonly members: ReadonlyMap<string, number>;
}

/** Consistent-hash balancer over a virtual-node ring. */
export class ConsistentHash implements Balancer {
  private ring: Ring = { points: new Uint32Array(0), owners: [], members: new Map() };
  private lastCandidates: readonly Candidate[] | null = null;
  private lastIndex = new Map<string, Candidate>();
  private lastExact = false;

  constructor(private readonly virtualNodesPerWeight = DEFAULT_VIRTUAL_NODES_PER_WEIGHT) {}

  pick<C extends Candidate>(candidates: readonly C[], hashKey: string): C | null {
    if (candidates.length === 0) return null;
    if (candidates !== this.lastCandidates) this.prepare(candidates);
    const { points, owners } = this.ring;
    const h = hash32(hashKey);
    let index = lowerBound(points, h);
    for (let step = 0; step < points.length; step++, index++) {
      if (index >= points.length) index = 0;
      const owner = owners[index] as string;
      const found = this.lastIndex.get(owner);
      if (found !== undefined) return found as C;
      if (this.lastExact) break;
    }
    throw new Error(`Cannot pick from the hash ring: no point belongs to any of ${candidates.length} candidates`);
  }

  private prepare(candidates: readonly Candidate[]): void {
    const members = this.ring.members;
    let covered = members.size <= candidates.length + ABSENT_MEMBER_SLACK;
    for (const c of candidates) {
      if (!covered) break;
      if (members.get(c.id) !== c.weight) covered = false;
    }
    if (!covered) this.ring = buildRing(candidates, this.virtualNodesPerWeight);
    this.lastCandidates = candidates;
    this.lastIndex = new Map(candidates.map((c) => [c.id, c]));
    this.lastExact = this.ring.members.size === candidates.length;
  }
}

function buildRing(candidates: readonly Candidate[], perWeight: number): Ring {
  const totalWeight = candidates.reduce((sum, c) => sum + c.weight, 0);
  const scale = Math.min(perWeight, MAX_RING_POINTS / Math.max(1, totalWeight));
  const entries: Array<{ hash: number; owner: string }> = [];
  const members = new Map<string, number>();
  for (const c of candidates) {
    members.set(c.id, c.weight);
    const count = Math.max(1, Math.round(c.weight * scale));
    for (let v = 0; v < count; v++) entries.push({ hash: hash32(`${c.id}#${v}`), owner: c.id });
  }
  // Ties broken by owner so that the ring does not depend on candidate order.
  entries.sort((a, b) => a.hash - b.hash || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));
  return {
    points: Uint32Array.from(entries, (e) => e.hash),
    owners: entries.map((e) => e.owner),
    members,
  };
}

/** First index whose value is >= target (points.length when none). */
function lowerBound(points: Uint32Array, target: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as number) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
