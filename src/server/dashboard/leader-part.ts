// What only the leader knows, for the dashboard: each member's replicated index (lag) and how long
// ago each node's lease was last kept alive (last heartbeat; leases are timed on the leader). The
// leader serves it on POST /v3/phalanx/dashboard/leader; a follower fetches it through the
// LeaderForwarder, one request at a time, and shows how old the copy it holds is.
import type { Replica } from "../replica.js";
import type { LeaderForwarder } from "../forward.js";
import type { NodeId } from "../../raft/raft.js";
import { NODE_PREFIX } from "../services/layout.js";
import type { NodeSkew } from "../clock-skew.js";

/** Longest a follower waits for the leader's part when it holds no copy yet. */
export const LEADER_PART_TIMEOUT_MS = 1000;
/** Longest a follower waits for a fresher copy than the one it holds (a LAN round trip is far less). */
export const LEADER_PART_REFRESH_WAIT_MS = 100;
/** The leader's part of the dashboard route. */
export const LEADER_PART_PATH = "/v3/phalanx/dashboard/leader";

/** The leader's view of its followers. */
export interface LeaderPart {
  readonly leader: number;
  readonly term: number;
  readonly lastIndex: number;
  readonly commit: number;
  /** Member id → index replicated on it. */
  readonly match: Readonly<Record<string, number>>;
  /** Node id → time since its node lease was last kept alive, and the lease's TTL. */
  readonly heartbeats: Readonly<Record<string, { sinceMs: number; ttlMs: number }>>;
  /** Node id → its wall clock minus the leader's, in ms, for the nodes the leader has probed (clock-skew.ts). */
  readonly skews: Readonly<Record<string, number>>;
}

/** Computes the leader's part on the leader; null on any other node. `skews`: the leader's clock comparison (none in tests without a transport). */
export function leaderPart(replica: Replica, skews: () => readonly NodeSkew[] = () => []): LeaderPart | null {
  const s = replica.status();
  if (s.role !== "leader" || s.progress === undefined) return null;
  const match: Record<string, number> = {};
  for (const [id, p] of s.progress) match[String(id)] = p.match;
  const heartbeats: Record<string, { sinceMs: number; ttlMs: number }> = {};
  for (const kv of replica.localPrefix(NODE_PREFIX)) {
    const info = replica.kv.lease(kv.lease);
    const remaining = replica.leaseRemainingMs(kv.lease);
    if (info === undefined || remaining === undefined) continue;
    heartbeats[kv.key.slice(NODE_PREFIX.length)] = { sinceMs: Math.max(0, Math.round(info.ttlMs - remaining)), ttlMs: info.ttlMs };
  }
  const skewByNode: Record<string, number> = {};
  for (const k of skews()) skewByNode[String(k.node)] = k.skewMs;
  return { leader: s.id, term: s.term, lastIndex: s.lastIndex, commit: s.commit, match, heartbeats, skews: skewByNode };
}

/** The leader's part as this node last obtained it, with its age. */
export interface HeldLeaderPart {
  readonly part: LeaderPart;
  /** Node-local monotonic ms since it was obtained. */
  readonly ageMs: number;
}

/** Obtains the leader's part: locally on the leader, through the forwarder on a follower (single flight, bounded wait). */
export class LeaderPartSource {
  private held: { part: LeaderPart; atMs: number } | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(private readonly o: { replica: Replica; forwarder: LeaderForwarder; adminToken: string | null; clockSkews?: () => readonly NodeSkew[]; monoMs?: () => number }) {}

  /**
   * The freshest copy held, or null. On a follower it starts a refresh (at most one request to the
   * leader at a time) and waits for it up to LEADER_PART_REFRESH_WAIT_MS (LEADER_PART_TIMEOUT_MS
   * while it holds no copy at all), so a slow or dead leader delays a state by that much at most.
   */
  async current(): Promise<HeldLeaderPart | null> {
    const local = leaderPart(this.o.replica, this.o.clockSkews);
    if (local !== null) {
      this.held = { part: local, atMs: this.monoMs() };
      return { part: local, ageMs: 0 };
    }
    const leader = this.o.replica.leaderId;
    if (leader !== 0 && this.inFlight === null) this.inFlight = this.fetch(leader).finally(() => (this.inFlight = null));
    if (this.inFlight !== null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.inFlight, new Promise((r) => (timer = setTimeout(r, this.held === null ? LEADER_PART_TIMEOUT_MS : LEADER_PART_REFRESH_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.held === null ? null : { part: this.held.part, ageMs: Math.round(this.monoMs() - this.held.atMs) };
  }

  private async fetch(leader: NodeId): Promise<void> {
    try {
      const reply = await this.o.forwarder.forward(leader, LEADER_PART_PATH, {}, this.o.adminToken === null ? undefined : `Bearer ${this.o.adminToken}`);
      if (reply === null || reply.status !== 200) return;
      const part = JSON.parse(reply.body) as { part: LeaderPart | null };
      if (part.part !== null) this.held = { part: part.part, atMs: this.monoMs() };
    } catch {
      // The leader is unreachable or changing: the copy held is shown with its age.
    }
  }

  private monoMs(): number {
    return (this.o.monoMs ?? (() => performance.now()))();
  }
}
