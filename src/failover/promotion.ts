// The leader's choice of a new active for a service. It promotes only when the store says nobody
// holds the role (the old holder's key is gone, so its lease expired or it released the role: by
// then it has fenced itself, see fencing.ts), only while the leader has a quorum (the choice is then
// written with a txn that commits only with a quorum anyway), and only when flap damping allows.
// Among healthy standbys on live nodes it takes the most caught-up one when the application
// reports a position, else the placement's preference order.
// Pure: the controller gathers the inputs from its store view and carries out the decision with
// acquireCommand() (active-record.ts).

/** A standby the leader could promote. */
export interface PromotionCandidate {
  readonly node: number;
  /** The node's lease, to attach the active key to. */
  readonly leaseId: number;
  /** The node's lease is alive (its /phalanx/nodes key exists) and not draining. */
  readonly nodeAlive: boolean;
  /** The standby instance passes its health check. */
  readonly healthy: boolean;
  /** How far the standby has caught up (e.g. replication position), when the app reports one. */
  readonly position?: number;
  /** The app's position command failed: this standby ranks after every other eligible one (never excluded). */
  readonly positionFailed?: boolean;
  /** Placement preference: lower is preferred (the scheduler's order). */
  readonly preference: number;
}

/** What the leader knows when it considers one service. */
export interface PromotionInput {
  readonly nowMs: number;
  /** The leader's last ReadIndex round (or heartbeat quorum) confirmed it still leads. */
  readonly hasQuorum: boolean;
  /** The node named by the active key, or null when the key is absent. */
  readonly holderNode: number | null;
  readonly candidates: readonly PromotionCandidate[];
  /** Flap damping: the earliest time the next promotion may happen. */
  readonly promotionAllowedAtMs: number;
  /** A planned switchover asked for this node: it goes first when eligible. */
  readonly preferredNode?: number | null;
}

/** The leader's decision. */
export type PromotionDecision =
  | { readonly kind: "keep"; readonly node: number }
  | { readonly kind: "wait"; readonly reason: string; readonly untilMs?: number }
  | { readonly kind: "promote"; readonly candidate: PromotionCandidate };

/** Decides whether and whom to promote. */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  if (!input.hasQuorum) return { kind: "wait", reason: "this node has no quorum: it never promotes" };
  // The key exists while the holder's lease lives: wait for it even if the holder looks dead.
  if (input.holderNode !== null) return { kind: "keep", node: input.holderNode };
  if (input.nowMs < input.promotionAllowedAtMs) {
    return { kind: "wait", reason: "flap damping: the service failed over too often", untilMs: input.promotionAllowedAtMs };
  }
  const eligible = input.candidates.filter((c) => c.nodeAlive && c.healthy);
  if (eligible.length === 0) return { kind: "wait", reason: "no healthy standby on a live node" };
  const preferred = eligible.find((c) => c.node === input.preferredNode);
  if (preferred !== undefined) return { kind: "promote", candidate: preferred };
  const best = [...eligible].sort(comparePromotion)[0] as PromotionCandidate;
  return { kind: "promote", candidate: best };
}

/**
 * Most caught-up first (a reported position beats none), then preference, then node id
 * (determinism). A standby whose position command failed goes last: it may be far behind, but a
 * stale standby beats no active at all.
 */
function comparePromotion(a: PromotionCandidate, b: PromotionCandidate): number {
  const fa = a.positionFailed === true ? 1 : 0;
  const fb = b.positionFailed === true ? 1 : 0;
  if (fa !== fb) return fa - fb;
  const pa = a.position ?? -Infinity;
  const pb = b.position ?? -Infinity;
  if (pa !== pb) return pb - pa > 0 ? 1 : -1;
  if (a.preference !== b.preference) return a.preference - b.preference;
  return a.node - b.node;
}
