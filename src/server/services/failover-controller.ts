// The leader's side of active-standby services (issue 11, docs/failover.md): whenever an active
// record, a fencing lease, an instance report or a switchover request changes (and every
// FAILOVER_TICK_MS), it confirms its leadership with a ReadIndex round — so a node without a quorum
// never promotes — then, per active-standby service, runs the pure decidePromotion
// (src/failover/promotion.ts): never while the record exists, flap damping, the switchover target,
// the most caught-up / preferred healthy standby. It proposes the acquire txn (absent → put on the
// chosen node's fencing lease) together with the damping state, so the token is the put's revision
// and the damping survives a change of leader. The node agents do the rest (failover-agent.ts).
// It also moves Raft leadership off a node that holds an active: an active on the leader waits for
// an election plus a whole TTL when that machine dies (src/failover/README.md, takeover figures).
import type { Logger } from "pino";
import type { ServiceSpec } from "../../config/service.js";
import { activeKey, decodeActiveHolder, decodeSwitchover, encodeActiveRecord, switchoverKey } from "../../failover/active-record.js";
import { DEFAULT_FLAP_PARAMS, nextPromotionAllowedAtMs, recordPromotion, type FlapParams } from "../../failover/flap-damping.js";
import { CLUSTER_VIP_FLAP_PARAMS, CLUSTER_VIP_KEY, CLUSTER_VIP_ROLE, clusterVipCandidates } from "./cluster-vip.js";
import { decidePromotion, type PromotionCandidate } from "../../failover/promotion.js";
import type { Replica } from "../replica.js";
import { fencingLeases } from "./failover-routes.js";
import {
  ACTIVE_PREFIX, decodeRecord, encodeRecord, EVENT_PREFIX, eventSeq, failoverStateKey, FENCING_PREFIX, INSTANCE_PREFIX, NODE_PREFIX, SPEC_PREFIX, SWITCHOVER_PREFIX,
  type EventRecord, type FailoverStateRecord,
} from "./layout.js";
import { eventsTxn } from "./controller.js";
import { LeaderRounds } from "./leader-rounds.js";
import { readServicesView, type ServicesView } from "./view.js";
import type { AlertSink } from "./controller-alerts.js";
import { COLD_STANDBY_MESSAGE } from "./node-agent.js";

/** A round also runs this often without any change. */
export const FAILOVER_TICK_MS = 500;
/** A switchover request not completed within this long is dropped (the target never became eligible). */
export const SWITCHOVER_GIVE_UP_MS = 60_000;
/** Attempts to append a promotion event when the service controller takes the same sequence number. */
export const MAX_EVENT_ATTEMPTS = 5;
/** A failover still without a new active this long after this leader saw it begin is reported failed (once). */
export const FAILOVER_FAILED_AFTER_MS = 30_000;
/** Leadership moves off an active's node at most this often. */
export const LEADERSHIP_MOVE_INTERVAL_MS = 10_000;

/** Standbys (and the active) of `spec` the leader could promote, one per node. */
export function standbyCandidates(v: ServicesView, spec: ServiceSpec, leases: ReadonlyMap<number, number>, leaderId: number): PromotionCandidate[] {
  const byNode = new Map<number, PromotionCandidate>();
  for (const [id, p] of v.placements) {
    if (p.value.service !== spec.name) continue;
    const leaseId = leases.get(p.node);
    const report = v.instances.get(id)?.value;
    const reported = report !== undefined && report.node === p.node ? report : undefined;
    // A cold standby does not run until promoted: a live node is all it needs.
    const healthy = spec.standby === "cold" ? reported?.state !== "failed" : reported?.healthy === true;
    const c: PromotionCandidate = {
      node: p.node, leaseId: leaseId ?? 0, nodeAlive: leaseId !== undefined && v.nodes.has(p.node) && !v.drains.has(p.node), healthy,
      // Off the Raft leader first: if that machine dies, a takeover waits for an election too.
      preference: p.node === leaderId ? 1 : 0,
      // The app's `position` command (node-agent.ts / position-probe.ts): larger = more caught-up; null = it failed.
      ...(typeof reported?.position === "number" ? { position: reported.position } : {}),
      ...(reported?.position === null ? { positionFailed: true } : {}),
    };
    const old = byNode.get(p.node);
    if (old === undefined || (!old.healthy && c.healthy)) byNode.set(p.node, c);
  }
  return [...byNode.values()];
}

/** The active's instance on `node` runs and passes its checks (a cold standby's placeholder report does not count). */
function activeHealthy(v: ServicesView, service: string, node: number): boolean {
  for (const [id, p] of v.placements) {
    if (p.value.service !== service || p.node !== node) continue;
    const r = v.instances.get(id)?.value;
    if (r !== undefined && r.node === node && r.healthy && r.message !== COLD_STANDBY_MESSAGE) return true;
  }
  return false;
}

/** What the controller weighs for one role: a service's standbys, or the cluster VIP's nodes. */
interface RoleCandidates {
  readonly candidates: readonly PromotionCandidate[];
  readonly damping: FlapParams;
  /** The holder serves (a failover is complete). */
  readonly holderHealthy: (node: number) => boolean;
}

export interface FailoverControllerOptions {
  readonly replica: Replica;
  readonly logger: Logger;
  /** Wall-clock ms (promotion times, damping). */
  readonly nowMs?: () => number;
  /** A round also runs this often without any change (default FAILOVER_TICK_MS; the node config's profile sets it). */
  readonly tickMs?: number;
  /** Confirm leadership with a ReadIndex round before each round (default true; false with the fast profile). */
  readonly confirmLeadership?: boolean;
  /** Told of failovers begun, completed (with duration) and failed (the agent's AlertManager). */
  readonly alerts?: AlertSink;
  /** Told of each failover's end (metrics). */
  readonly onFailoverEnded?: (outcome: "completed" | "failed", durationMs: number) => void;
  /** Told of each promotion this leader committed (a new fencing token; metrics). */
  readonly onPromoted?: () => void;
}

/** A failover this leader is watching: the service lost its active after an earlier promotion. */
interface OpenFailover {
  readonly id: string;
  readonly startedAtMs: number;
  failed: boolean;
}

/** Promotes actives on the leader. start(), feed it changed keys, stop(). */
export class FailoverController {
  private readonly rounds: LeaderRounds;
  private lastLeadershipMoveMs = -Infinity;
  private readonly told = new Map<string, string>();
  /** Per service. In memory: a new leader begins again with the same id (derived from the store), which the alert rules deduplicate. */
  private readonly open = new Map<string, OpenFailover>();
  /** Per service: the last failover this leader reported completed (not again each round). */
  private readonly closed = new Map<string, string>();
  private readonly nowMs: () => number;

  constructor(private readonly o: FailoverControllerOptions) {
    this.nowMs = o.nowMs ?? (() => Date.now());
    this.rounds = new LeaderRounds({
      tickMs: o.tickMs ?? FAILOVER_TICK_MS,
      isLeader: () => o.replica.status().role === "leader",
      round: () => this.round(),
      logger: o.logger,
      what: "failover",
    });
  }

  start(): void {
    this.rounds.start();
  }

  stop(): void {
    this.rounds.stop();
  }

  changed(keys: readonly string[]): void {
    const relevant = [ACTIVE_PREFIX, FENCING_PREFIX, SWITCHOVER_PREFIX, INSTANCE_PREFIX, NODE_PREFIX, SPEC_PREFIX];
    if (keys.some((k) => relevant.some((p) => k.startsWith(p)))) this.poke();
  }

  poke(): void {
    this.rounds.poke();
  }

  private async round(): Promise<void> {
    const replica = this.o.replica;
    // ReadIndex: only a leader a quorum still follows goes on (decidePromotion's hasQuorum). The fast
    // profile skips it: the acquire txn ("record absent → put") commits only through a quorum and
    // is judged on the committed log, so a deposed leader's promotion never takes effect anyway;
    // what the round saves is one heartbeat round trip on every takeover's path. The cost: a
    // deposed leader may log or alert about a failover from its stale view.
    if (this.o.confirmLeadership !== false) await replica.linearizableBarrier();
    if (replica.status().role !== "leader") return;
    const v = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
    const leases = fencingLeases(replica);
    const now = this.nowMs();
    // A failover followed for a service gone or no longer active-standby is forgotten (the cluster VIP has no spec: kept).
    for (const name of [...this.open.keys()]) if (name !== CLUSTER_VIP_ROLE && v.specs.get(name)?.value.spec.mode !== "active-standby") this.open.delete(name);
    for (const [name, s] of v.specs) {
      if (s.value.spec.mode !== "active-standby") continue;
      const spec = s.value.spec;
      await this.consider(name, {
        candidates: standbyCandidates(v, spec, leases, replica.id), damping: spec.flapDamping ?? DEFAULT_FLAP_PARAMS, holderHealthy: (node) => activeHealthy(v, name, node),
      }, now);
    }
    await this.considerClusterVip(v, leases, now);
    this.moveLeadershipOffActives();
  }

  /**
   * The cluster VIP (cluster-vip.ts): a role-only role with the live nodes that publish the
   * agreed address as candidates, promoted by the same decision and acquire txn as a service.
   */
  private async considerClusterVip(v: ServicesView, leases: ReadonlyMap<number, number>, now: number): Promise<void> {
    const c = clusterVipCandidates(v, leases, this.o.replica.id);
    const disagree = c.disagreeing.map((d) => `node ${d.node} publishes ${d.address}`).join(", ");
    if (disagree !== (this.told.get(`${CLUSTER_VIP_ROLE}/disagree`) ?? "")) {
      if (disagree !== "") this.o.logger.error({ agreed: c.address }, `cluster VIP: ${disagree}, not ${c.address ?? "-"} as most nodes: those nodes never hold it; set the same clusterVip.address on every node`);
      this.told.set(`${CLUSTER_VIP_ROLE}/disagree`, disagree);
    }
    if (c.address === null && this.o.replica.localPrefix(CLUSTER_VIP_KEY).length === 0) return;
    await this.consider(CLUSTER_VIP_ROLE, { candidates: c.candidates, damping: CLUSTER_VIP_FLAP_PARAMS, holderHealthy: (node) => v.nodes.has(node) }, now);
  }

  private async consider(name: string, role: RoleCandidates, now: number): Promise<void> {
    const replica = this.o.replica;
    const get = (key: string) => replica.localPrefix(key).find((k) => k.key === key);
    const activeKv = get(activeKey(name));
    const holder = activeKv === undefined ? null : decodeActiveHolder(activeKv);
    const swKv = get(switchoverKey(name));
    const request = decodeSwitchover(swKv);
    if (swKv !== undefined && (request === null || holder?.record.node === request.to || now - request.requestedAtMs > SWITCHOVER_GIVE_UP_MS)) {
      await replica.propose({ type: "txn", compares: [{ key: switchoverKey(name), target: "modRevision", op: "=", value: swKv.modRevision }], success: [{ type: "delete", key: switchoverKey(name) }], failure: [] });
    }
    const stateKv = get(failoverStateKey(name));
    const state = (stateKv === undefined ? null : decodeRecord<FailoverStateRecord>(stateKv)) ?? { promotionsAtMs: [], lastPromotion: null };
    const failover = this.track(name, holder?.record.node ?? null, state, role, now);
    const damping = role.damping;
    const decision = decidePromotion({
      nowMs: now, hasQuorum: true, holderNode: holder?.record.node ?? null,
      candidates: role.candidates,
      promotionAllowedAtMs: nextPromotionAllowedAtMs(state, now, damping),
      preferredNode: request?.to ?? null,
    });
    if (decision.kind === "wait") {
      if (this.told.get(name) !== decision.reason) this.o.logger.warn({ service: name }, `no active: ${decision.reason}`);
      this.told.set(name, decision.reason);
      if (failover !== undefined) this.fail(name, failover, decision.reason, now);
      return;
    }
    this.told.delete(name);
    if (decision.kind === "keep") return;
    const c = decision.candidate;
    const planned = request?.to === c.node;
    const reason = planned ? "planned switchover" : "no active record (the holder's fencing lease ended or it released the role)";
    // A planned switchover is not a flap, nor is the service's first active: neither counts towards damping.
    const next: FailoverStateRecord = {
      promotionsAtMs: planned || state.lastPromotion === null ? state.promotionsAtMs : recordPromotion(state, now, damping).promotionsAtMs,
      lastPromotion: { node: c.node, atMs: now, reason },
      ...(failover !== undefined ? { failoverId: failover.id } : {}),
    };
    const key = activeKey(name);
    const r = await replica.propose({
      type: "txn",
      compares: [{ key, target: "version", op: "=", value: 0 }],
      success: [
        { type: "put", key, value: encodeActiveRecord({ service: name, node: c.node, leaseId: c.leaseId as never, promotedAtMs: now }), lease: c.leaseId as never },
        { type: "put", key: failoverStateKey(name), value: encodeRecord(next) },
      ],
      failure: [],
    });
    if (!(r.ok && r.type === "txn" && r.succeeded)) return;
    this.o.logger.info({ service: name, targetNode: c.node, token: r.revision, reason }, "promoted a standby to active");
    this.o.onPromoted?.();
    await this.event({ atMs: now, kind: "service", type: "active_promoted", service: name, node: c.node, message: `${name}: node ${c.node} is the active (fencing token ${r.revision}): ${reason}` });
  }

  /**
   * Follows the failover of `name`: it begins when the service has no holder after an earlier
   * promotion (a first active is no failover) and completes when the promoted active's instance is
   * healthy (its duration: from this leader seeing it begin). Its id names the promotion that ended
   * and is stored with the next promotion, so every leader derives the same one: a new leader
   * re-reports a failover it finds open or done, which the alert rules deduplicate.
   */
  private track(name: string, holderNode: number | null, state: FailoverStateRecord, role: RoleCandidates, now: number): OpenFailover | undefined {
    const known = this.open.get(name);
    if (holderNode === null) {
      if (state.lastPromotion === null) {
        this.open.delete(name);
        return undefined;
      }
      const id = `${name}-${state.lastPromotion.atMs}`;
      if (known?.id === id) return known;
      if (known !== undefined) this.fail(name, known, "the promoted active was lost before it became healthy", now);
      const begun: OpenFailover = { id, startedAtMs: now, failed: false };
      this.o.logger.info({ service: name, from: state.lastPromotion.node }, "the active record is gone: choosing a new active");
      this.open.set(name, begun);
      this.o.alerts?.observe({ type: "failover_begun", service: name, failoverId: id, fromNode: String(state.lastPromotion.node), reason: "the active's fencing lease ended or it released the role" });
      return begun;
    }
    const id = known?.id ?? state.failoverId;
    if (id === undefined || this.closed.get(name) === id || state.completedFailoverId === id) return undefined;
    const started = known?.startedAtMs ?? state.lastPromotion?.atMs ?? now;
    if (role.holderHealthy(holderNode)) {
      this.open.delete(name);
      this.closed.set(name, id);
      this.o.alerts?.observe({ type: "failover_completed", service: name, failoverId: id, toNode: String(holderNode), durationMs: now - started });
      if (known !== undefined && !known.failed) this.o.onFailoverEnded?.("completed", now - started);
      void this.markCompleted(name, id);
    } else if (known !== undefined) {
      this.fail(name, known, `the active on node ${holderNode} is not healthy yet`, now);
    }
    return undefined;
  }

  /**
   * Records in the service's failover state that failover `id` was reported completed, once its
   * alert is in the outbox (not before: a leader dying in between must leave it to the next one to
   * report). Without it every later leader would report the completion again, and the rules, which
   * keep only firing alerts, would send the receivers a second "resolved".
   */
  private async markCompleted(name: string, id: string): Promise<void> {
    try {
      await this.o.alerts?.settled?.();
      const key = failoverStateKey(name);
      const kv = this.o.replica.localPrefix(key).find((k) => k.key === key);
      const state = kv === undefined ? null : decodeRecord<FailoverStateRecord>(kv);
      if (kv === undefined || state === null || state.failoverId !== id || state.completedFailoverId === id) return;
      await this.o.replica.propose({
        type: "txn",
        compares: [{ key, target: "modRevision", op: "=", value: kv.modRevision }],
        success: [{ type: "put", key, value: encodeRecord({ ...state, completedFailoverId: id }) }],
        failure: [],
      });
    } catch (err) {
      // Not recorded: the next leader reports the completion once more (at least once).
      this.o.logger.debug({ err, service: name, failoverId: id }, "cannot record the failover's completion yet");
    }
  }

  /** Reports `f` failed once, FAILOVER_FAILED_AFTER_MS after it began (or at once when `now` is past it). */
  private fail(name: string, f: OpenFailover, reason: string, now: number): void {
    if (f.failed || now - f.startedAtMs < FAILOVER_FAILED_AFTER_MS) return;
    f.failed = true;
    this.o.alerts?.observe({ type: "failover_failed", service: name, failoverId: f.id, reason });
    this.o.onFailoverEnded?.("failed", now - f.startedAtMs);
  }

  /** Appends one event for `phalanx events`; the service controller appends too, so a clash on the sequence is retried (bounded). */
  private async event(e: EventRecord): Promise<void> {
    for (let attempt = 0; attempt < MAX_EVENT_ATTEMPTS; attempt++) {
      const keys = this.o.replica.localPrefix(EVENT_PREFIX);
      const last = keys.length === 0 ? 0 : eventSeq(keys[keys.length - 1]!.key);
      const r = await this.o.replica.propose({ type: "txn", ...eventsTxn(last, keys.length, [e]) }).catch(() => null);
      if (r === null || !r.ok || (r.type === "txn" && r.succeeded)) return;
    }
  }

  /** This leader holds an active: hand leadership to a voter without one (rate-limited). */
  private moveLeadershipOffActives(): void {
    const replica = this.o.replica;
    const now = this.nowMs();
    if (now - this.lastLeadershipMoveMs < LEADERSHIP_MOVE_INTERVAL_MS) return;
    const holders = new Set<number>();
    for (const kv of replica.localPrefix(ACTIVE_PREFIX)) {
      const h = decodeActiveHolder(kv);
      if (h !== null) holders.add(h.record.node);
    }
    const status = replica.status();
    if (!holders.has(status.id)) return;
    const to = status.confState.voters.find((id) => id !== status.id && !holders.has(id) && status.progress?.get(id)?.match === status.lastIndex);
    if (to === undefined) return;
    this.lastLeadershipMoveMs = now;
    this.o.logger.info({ to }, "moving Raft leadership off this node: it holds an active (a takeover would wait for an election too)");
    replica.transferLeadership(to);
  }
}
