// Each node's clock skew relative to the leader's, as this node knows it: the leader knows every
// follower it probes (transport/clock.ts) and itself (0); a follower knows only its own, as the
// leader last reported it. For operators only: /metrics (phalanx_clock_skew_seconds), the status row
// of `phalanx status` and the leader's clock_skew alert. No safety decision reads it: leases and
// fencing run on monotonic timers (ARCHITECTURE.md, "Safety and clocks").
import type { NodeId } from "../raft/raft.js";
import type { RaftStatus } from "../raft/raft.js";
import type { ClockView } from "../transport/clock.js";

/** One node's skew: its wall clock minus the leader's, in ms. */
export interface NodeSkew {
  readonly node: NodeId;
  readonly skewMs: number;
}

/** What the skew view reads. */
export interface ClockSkewSource {
  status(): Pick<RaftStatus, "id" | "role" | "leader">;
  /** The transport's clock view; null for a transport without clock comparison (in-memory). */
  clockView(): ClockView | null;
}

/** The skews this node knows now: on the leader every probed member and itself, on a follower itself. */
export function knownSkews(source: ClockSkewSource): NodeSkew[] {
  const view = source.clockView();
  if (view === null) return [];
  const s = source.status();
  if (s.role === "leader") return [{ node: s.id, skewMs: 0 }, ...[...view.peers].map(([node, sample]) => ({ node, skewMs: sample.offsetMs }))];
  return view.self !== null && view.self.by === s.leader ? [{ node: s.id, skewMs: view.self.offsetMs }] : [];
}

/** This node's own skew to the leader, or null when it is not known (no leader, no fresh probe). */
export function ownSkewMs(source: ClockSkewSource): number | null {
  const s = source.status();
  return knownSkews(source).find((k) => k.node === s.id)?.skewMs ?? null;
}
