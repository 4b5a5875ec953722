// The one-line answer at the top of the dashboard: is the cluster healthy? Decided from the state
// the page shows (no I/O here), worst finding first, so the verdict and the tables never disagree.

/** What the verdict is decided from. */
export interface VerdictInput {
  /** The leader this node knows (0: none; this node has lost the leader). */
  readonly leader: number;
  readonly voters: number;
  /** Voters this node reaches (itself included). */
  readonly votersReachable: number;
  /** Registered nodes whose lease is gone or links are down, by name. */
  readonly nodesDown: readonly string[];
  /** Services with fewer healthy instances than asked for, and with none at all. */
  readonly servicesDegraded: readonly string[];
  readonly servicesDown: readonly string[];
  readonly alertsFiring: number;
}

export type VerdictLevel = "ok" | "warning" | "critical";

export interface Verdict {
  readonly level: VerdictLevel;
  /** One short sentence. */
  readonly summary: string;
  /** Every finding, worst first. */
  readonly reasons: readonly string[];
}

/** Votes needed for a majority of `voters`. */
export function quorumOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** The cluster's verdict as this node sees it. */
export function clusterVerdict(v: VerdictInput): Verdict {
  const critical: string[] = [];
  const warning: string[] = [];
  if (v.leader === 0) critical.push("this node has lost the leader: the data shown may be stale");
  if (v.votersReachable < quorumOf(v.voters)) critical.push(`quorum lost: ${v.votersReachable} of ${v.voters} voters reachable, ${quorumOf(v.voters)} needed`);
  if (v.servicesDown.length > 0) critical.push(`no healthy instance: ${v.servicesDown.join(", ")}`);
  if (v.nodesDown.length > 0) warning.push(`node${v.nodesDown.length === 1 ? "" : "s"} down: ${v.nodesDown.join(", ")}`);
  if (v.servicesDegraded.length > 0) warning.push(`degraded: ${v.servicesDegraded.join(", ")}`);
  if (v.alertsFiring > 0) warning.push(`${v.alertsFiring} alert${v.alertsFiring === 1 ? "" : "s"} firing`);
  const reasons = [...critical, ...warning];
  if (critical.length > 0) return { level: "critical", summary: `Critical: ${critical[0]}`, reasons };
  if (warning.length > 0) return { level: "warning", summary: `Degraded: ${warning[0]}`, reasons };
  return { level: "ok", summary: "Healthy: leader known, quorum, every node up, every service at its healthy count", reasons };
}
