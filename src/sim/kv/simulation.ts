// One simulated schedule of the KV store: voters of the real Raft core in KV node shells (real
// KvStore, watches, lease clock), simulated clients, network and disks, driven by one event queue in
// virtual time and one seeded generator, so a seed replays exactly. Faults (partitions, crashes
// that lose unsynced writes, pauses, lossy and slow networks, slow disks) happen during a fault
// phase; then everything heals, clients stop, and the cluster must settle. The KV checkers run as
// entries apply and once settled. Reuses the simulator's agenda, schedule hash, network, link and
// Raft settings, slow disks, storage model and generator (../); its nemesis and node shell are
// bound to the register simulation, so this file has its own small nemesis and node.ts its own shell.
import { nodeId, NO_NODE } from "../../raft/raft.js";
import type { ConfChange, ConfState, NodeId } from "../../raft/raft.js";
import type { ApplyOutput } from "../../kv/store.js";
import { drawLinkParams, nemesisGapsUs } from "../link-params.js";
import type { LinkParams } from "../link-params.js";
import { CALM_NETWORK } from "../network.js";
import { Nemesis } from "../nemesis.js";
import type { NemesisWorld } from "../nemesis.js";
import { createRng } from "../rng.js";
import { NodeClusterWorld } from "../node-cluster-world.js";
import type { DeliverEvent } from "../node-cluster-world.js";
import type { ScheduleStats } from "../schedule-world.js";
import { raftSettings } from "../sim-raft.js";
import type { RaftKnobs } from "../sim-raft.js";
import { SlowDisks } from "../slow-disks.js";
import type { Rng } from "../rng.js";
import type { NodeTuning } from "../../node/node-core.js";
import type { ProposalOutcome } from "../../node/pending-proposals.js";
import { isRetryable } from "../../node/outcome.js";
import { KvChecker, KvViolationFound } from "./checkers.js";
import type { KvViolation } from "./checkers.js";
import { KvSimNode, MAX_PENDING_PROPOSALS, MAX_PENDING_READS } from "./node.js";
import type { KvMutant, KvNodeWorld } from "./node.js";
import type { KvReply, KvRequest, WatchDelivery } from "./protocol.js";
import { KvWorkload } from "./workload.js";
import type { KvWorkloadParams, KvWorkloadWorld } from "./workload.js";

export { MAX_EVENTS_PER_SCHEDULE } from "../agenda.js";
/** How often the settle condition is checked after the heal. */
const SETTLE_CHECK_INTERVAL_US = 20_000;
/** Clients keep going this long after the heal (leases and watches run on a calm cluster too). */
const CALM_LOAD_US = 600_000;
/** After the heal, the cluster must settle within this bound. */
const LIVENESS_BOUND_US = 5_000_000;
/** The node core's proposal deadline in virtual time (production: 5 s against 0.5–1 s elections). */
const PROPOSAL_TIMEOUT_MS = 1_000;
/** The node core's read deadline in virtual time (production: 3 s). */
const READ_TIMEOUT_MS = 500;
/** Ids beyond the voters the nemesis may add as learners. */
const SPARE_IDS = 2;
/** Fastest fsync of a healthy disk. */
const KV_DISK_MIN_US = 100;

/** Options of one schedule. */
export interface KvScheduleOptions {
  readonly seed: number;
  readonly voters: 3 | 5;
  readonly mutant: KvMutant | null;
  /** Receives a readable trace line per notable event when set. */
  readonly trace?: (line: string) => void;
}

/** What one schedule did and found. */
export interface KvScheduleResult extends ScheduleStats {
  readonly seed: number;
  readonly violation: KvViolation | null;
  readonly leasesExpired: number;
  readonly watchEvents: number;
  readonly linearizabilityUndecided: boolean;
}

interface KvParams extends RaftKnobs, LinkParams {
  readonly tickUs: number;
  readonly tickDrift: readonly number[];
  readonly snapshotEveryEntries: number;
  readonly faultPhaseUs: number;
  /** Highest node id that may ever exist (spare ids can be added as learners by the nemesis). */
  readonly maxNodeId: number;
  readonly nemesisGapMinUs: number;
  readonly nemesisGapMaxUs: number;
  readonly diskMaxUs: number;
  readonly clientLatencyMaxUs: number;
  readonly workload: KvWorkloadParams;
}

function drawParams(rng: Rng, voters: number): KvParams {
  const intensity = rng.float();
  return {
    tickUs: 10_000,
    tickDrift: Array.from({ length: voters + SPARE_IDS + 1 }, () => 0.97 + rng.float() * 0.06),
    maxNodeId: voters + SPARE_IDS,
    electionTicks: 10,
    heartbeatTicks: rng.range(1, 3),
    maxEntriesPerAppend: rng.pick([1, 4, 64]),
    maxBytesPerAppend: 1 << 20,
    maxInflightAppends: rng.pick([1, 8, 64]),
    maxUncommittedEntries: 1024,
    preVote: rng.chance(0.7),
    checkQuorum: rng.chance(0.7),
    snapshotEveryEntries: rng.range(8, 64),
    faultPhaseUs: rng.range(1_200_000, 2_400_000),
    ...nemesisGapsUs(intensity),
    diskMaxUs: rng.range(500, 3_000),
    ...drawLinkParams(rng),
    clientLatencyMaxUs: 1_000,
    workload: {
      registerClients: rng.range(2, 3),
      leaseClients: rng.range(1, 3),
      watchClients: rng.range(1, 2),
      timeoutUs: rng.range(150_000, 400_000),
      thinkMaxUs: rng.pick([1_000, 10_000, 30_000]),
      // At least 1.5 maximal election timeouts (the server's floor), so a leader change alone never expires a kept-alive lease.
      leaseTtlMs: [300, 800],
    },
  };
}

/** This simulator's own events on the agenda. */
type SimEvent =
  | DeliverEvent
  | { readonly kind: "request"; readonly to: NodeId; readonly req: KvRequest }
  | { readonly kind: "reply"; readonly reply: KvReply };

/** Runs one schedule to the end (or to its first violation). */
export function runKvSchedule(options: KvScheduleOptions): KvScheduleResult {
  return new KvSimulation(options).run();
}

/** The world of one KV schedule. Use runKvSchedule(). */
export class KvSimulation extends NodeClusterWorld<KvSimNode, Exclude<SimEvent, DeliverEvent>> implements KvNodeWorld, KvWorkloadWorld, NemesisWorld<KvSimNode> {
  readonly rng: Rng;
  readonly mutant: KvMutant | null;
  readonly checker: KvChecker = new KvChecker();
  readonly params: KvParams;
  readonly tracing: boolean;
  private readonly workload: KvWorkload;
  private readonly raftRng: Rng;
  private readonly nemesis: Nemesis<KvSimNode>;
  private finished = false;
  private healed = false;
  private readonly slowDisks = new SlowDisks();

  constructor(private readonly options: KvScheduleOptions) {
    super(options.trace);
    const root = createRng(options.seed);
    this.params = drawParams(root.fork(), options.voters);
    this.rng = root.fork();
    this.raftRng = root.fork();
    this.nemesis = new Nemesis(this, root.fork());
    this.tracing = options.trace !== undefined;
    this.mutant = options.mutant;
    this.network.quality = this.params.network;
    this.workload = new KvWorkload(this, root.fork(), this.params.workload);
  }

  /** Runs the schedule. */
  run(): KvScheduleResult {
    let violation: KvViolation | null = null;
    let undecided = false;
    try {
      this.setUp();
      this.agenda.runUntil(() => this.finished, this.checker);
      undecided = this.finalChecks();
    } catch (err) {
      violation = err instanceof KvViolationFound
        ? err.violation
        : this.coreInvariantViolation(err);
    }
    let expired = 0;
    for (const r of this.checker.firstRemoval.values()) if (r.expired) expired++;
    return {
      seed: this.options.seed,
      violation,
      ...this.scheduleStats(this.workload),
      leasesExpired: expired,
      watchEvents: this.workload.watches.reduce((n, w) => n + w.events.length, 0),
      linearizabilityUndecided: undecided,
    };
  }

  private finalChecks(): boolean {
    const leader = this.currentLeader();
    if (leader === null) return this.checker.report("liveness", "no leader at the end");
    for (const n of this.nodes.values()) {
      this.checker.compareState(n.id, n.kv);
      this.checker.checkLeaseKeys(n.id, n.kv);
    }
    return this.checker.checkFinal(this.workload).linearizabilityUndecided;
  }

  protected dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case "deliver":
        this.deliver(ev.msg);
        return;
      case "request": {
        const node = this.nodes.get(ev.to);
        const req = ev.req;
        if (node === undefined || !node.up) {
          this.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: ev.to, code: "unavailable", leaderHint: NO_NODE });
        } else {
          node.request(req);
        }
        return;
      }
      case "reply":
        this.workload.onReply(ev.reply);
        return;
    }
  }

  private setUp(): void {
    const voters = Array.from({ length: this.options.voters }, (_, i) => nodeId(i + 1));
    for (const id of voters) this.addNode(id, { voters, learners: [] });
    this.workload.start();
    this.nemesis.start();
    this.at(this.params.faultPhaseUs, () => this.heal());
  }

  /** Creates and starts a node process (a learner the nemesis adds starts with no bootstrap). */
  addNode(id: NodeId, bootstrap: ConfState | null): KvSimNode {
    const existing = this.nodes.get(id);
    if (existing !== undefined) return existing;
    const node = new KvSimNode(id, bootstrap, this);
    this.nodes.set(id, node);
    this.startNode(node);
    return node;
  }

  /** Starts a stopped node and its clock. */
  startNode(node: KvSimNode): void {
    if (node.up || node.decommissioned) return;
    const lost = node.start();
    if (lost !== null) this.checker.report("durability", `node ${node.id} cannot restart: ${lost}`);
    this.mix(0x51a7, node.id);
    const intervalUs = Math.round(this.params.tickUs * (this.params.tickDrift[node.id] ?? 1));
    this.agenda.startClock(node, this.rng.range(1, intervalUs), intervalUs);
  }

  /** Watch streams of a node that died broke: their clients resume elsewhere. */
  onStreamsBroken(streams: readonly { readonly clientId: number; readonly opId: number }[]): void {
    for (const s of streams) this.workload.onStreamBroken(s.clientId, s.opId);
  }

  /** Makes a node's disk slow until `untilUs`. */
  slowDisk(node: NodeId, untilUs: number): void {
    this.slowDisks.slow(node, untilUs);
  }

  /** Whether the fault phase is over. */
  get isHealed(): boolean {
    return this.healed;
  }

  onConfApplied(node: NodeId, cc: ConfChange): void {
    if (cc.type !== "removeNode") return;
    const target = this.nodes.get(cc.nodeId);
    if (target === undefined || target.decommissioned) return;
    // The removal is committed: the operator shuts the removed server down for good, a little
    // later so that a removed leader can hand over first.
    target.decommissioned = true;
    this.trace(`n${node} applied the removal of n${cc.nodeId}: it will be shut down`);
    this.after(30_000, () => {
      if (target.up) target.crash();
    });
  }

  /** A node just won an election (the nemesis may strike before its first message as leader). */
  private onBecameLeader(node: KvSimNode): void {
    this.nemesis.onBecameLeader(node);
  }

  private heal(): void {
    this.healed = true;
    this.trace("heal: links restored, nodes restarted and resumed, network calm");
    this.nemesis.stop();
    this.network.healAll();
    this.network.quality = CALM_NETWORK;
    this.slowDisks.clear();
    for (const node of this.nodes.values()) {
      node.trigger = null;
      if (node.paused) node.resume();
      // A node whose disk failed is restarted by its operator (its core stopped acknowledging).
      if (node.up && (node.diskFailing || node.core?.state !== "running")) node.crash();
      if (!node.up && !node.decommissioned) this.startNode(node);
    }
    this.after(CALM_LOAD_US, () => this.workload.stop());
    const deadline = this.agenda.nowUs + LIVENESS_BOUND_US;
    const check = (): void => {
      const pending = this.agenda.nowUs < this.healedAtUs() + CALM_LOAD_US ? "clients still running" : this.unsettledReason();
      if (pending === null) {
        this.finished = true;
        return;
      }
      if (this.agenda.nowUs >= deadline) this.checker.report("liveness", `${LIVENESS_BOUND_US / 1000}ms after the heal the cluster has not settled: ${pending}`);
      this.after(SETTLE_CHECK_INTERVAL_US, check);
    };
    this.after(SETTLE_CHECK_INTERVAL_US, check);
  }

  private healedAtUs(): number {
    return this.params.faultPhaseUs;
  }

  private unsettledReason(): string | null {
    const leader = this.currentLeader();
    if (leader === null || leader.core === null) return "no leader";
    const st = leader.core.status();
    if (st.commit < st.lastIndex) return `leader ${leader.id} has entries up to ${st.lastIndex} but commit ${st.commit}`;
    if (!this.workload.idle) return "clients still waiting";
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      const n = this.nodes.get(id);
      if (n === undefined || !n.up) return `member ${id} is down`;
      if (n.kv.appliedIndex < st.commit) return `member ${id} applied ${n.kv.appliedIndex} of ${st.commit}`;
    }
    return this.workload.watchLag(this.checker);
  }

  // ---------------------------------------------------------------- worlds (scheduling and trace: ScheduleWorld)

  /** A node's role changed (for the trace). */
  onRole(node: KvSimNode, becameLeader: boolean): void {
    this.trace(`n${node.id} is ${node.role} (leader n${node.leader})`);
    if (becameLeader) this.onBecameLeader(node);
  }

  tuning(): NodeTuning {
    return {
      raft: raftSettings(this.params),
      snapshotEveryEntries: this.params.snapshotEveryEntries,
      proposalTimeoutMs: PROPOSAL_TIMEOUT_MS,
      readTimeoutMs: READ_TIMEOUT_MS,
      tickMs: this.params.tickUs / 1000,
      maxPendingProposals: MAX_PENDING_PROPOSALS,
      maxPendingReads: MAX_PENDING_READS,
    };
  }

  raftRandomInt(n: number): number {
    return this.raftRng.int(n);
  }

  reply(reply: KvReply): void {
    this.mix(reply.kind === "ok" ? 0x0c : 0x0d, reply.clientId * 65536 + reply.opId);
    if (this.options.trace !== undefined) {
      const what = reply.kind === "ok" ? `ok ${JSON.stringify(reply.result, bytesAsText)}`
        : reply.kind === "refused" ? `refused ${reply.code} hint n${reply.leaderHint}` : `unknown outcome (${reply.code})`;
      this.trace(`n${reply.from} -> client ${reply.clientId} op ${reply.opId}: ${what}`);
    }
    this.agenda.push(this.agenda.nowUs + this.rng.range(100, this.params.clientLatencyMaxUs), { kind: "reply", reply });
  }

  sendRequest(to: NodeId, req: KvRequest): void {
    this.mix(0x0e, req.clientId * 65536 + req.opId);
    if (this.options.trace !== undefined) this.trace(`client ${req.clientId} -> n${to} op ${req.opId}#${req.attempt} ${JSON.stringify(req.op, bytesAsText)}`);
    this.agenda.push(this.agenda.nowUs + this.rng.range(100, this.params.clientLatencyMaxUs), { kind: "request", to, req });
  }

  /** The nodes clients may pick: members of the cluster (up or down), not shut down for good. */
  nodeIds(): readonly NodeId[] {
    const ids: NodeId[] = [];
    for (const n of this.nodes.values()) if (n.member && !n.decommissioned) ids.push(n.id);
    return ids;
  }

  diskLatencyUs(node: NodeId): number {
    return this.slowDisks.latencyUs(node, this.agenda.nowUs, this.rng, KV_DISK_MIN_US, this.params.diskMaxUs);
  }

  onProposalAnswered(node: KvSimNode, index: number, term: number, outcome: ProposalOutcome): void {
    const code = outcome.ok ? "ok" : outcome.code;
    this.checker.onProposalAnswered(node.id, index, term, code, !outcome.ok && isRetryable(code));
  }

  onApplied(node: KvSimNode, out: ApplyOutput, term: number, revisionBefore: number): void {
    this.mix(0xa9, out.index * 16 + node.id);
    if (out.leaseChanges.length > 0 && this.options.trace !== undefined) this.trace(`n${node.id} applies ${out.index}: ${JSON.stringify(out.leaseChanges)}`);
    this.checker.onApplied(node.id, node.kv, out, term, revisionBefore);
  }

  onSnapshotInstalled(node: KvSimNode): void {
    this.mix(0x5a, node.kv.appliedIndex);
    this.checker.compareState(node.id, node.kv);
  }

  onWatch(delivery: WatchDelivery): void {
    this.mix(0x3e, delivery.clientId * 16 + delivery.node);
    this.workload.onWatch(delivery);
  }
}

/** JSON.stringify replacer that shows byte values as text. */
function bytesAsText(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
}
