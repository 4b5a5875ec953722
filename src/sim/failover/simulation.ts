// One schedule of the failover simulator: 3 or 5 machines, each a store voter running the real
// node core on its own drifting clock (rate 1 ± ρ), a failover agent with its instance and
// watchdog, and the leader's controller (node.ts). Faults for a fault phase: the shared nemesis
// (partitions, crashes, pauses of whole machines, network storms with loss, slow disks, leadership
// transfers) plus failover's own, aimed at the machine whose instance acts: SIGSTOP of its agent
// alone, a freeze of the whole machine, its isolation, its crash. Then everything heals and an
// active must exist within a bound. The checkers (checkers.ts) judge the instances' own acting
// intervals on true virtual time.
import { nodeId } from "../../raft/raft.js";
import type { ConfState, NodeId } from "../../raft/raft.js";
import type { NodeTuning } from "../../node/node-core.js";
import { DEFAULT_FENCING_PARAMS, checkFencingParams } from "../../failover/fencing.js";
import type { FencingParams } from "../../failover/fencing.js";
import type { FlapParams } from "../../failover/flap-damping.js";
import { drawLinkParams, nemesisGapsUs } from "../link-params.js";
import type { LinkParams } from "../link-params.js";
import { CALM_NETWORK, linksBetween } from "../network.js";
import { Nemesis } from "../nemesis.js";
import type { NemesisAction, NemesisWorld } from "../nemesis.js";
import { createRng } from "../rng.js";
import type { Rng } from "../rng.js";
import { NodeClusterWorld } from "../node-cluster-world.js";
import type { DeliverEvent } from "../node-cluster-world.js";
import type { ScheduleStats } from "../schedule-world.js";
import { raftSettings } from "../sim-raft.js";
import type { RaftKnobs } from "../sim-raft.js";
import { SlowDisks } from "../slow-disks.js";
import { ActingChecker, FailoverViolationFound } from "./checkers.js";
import type { FailoverViolation } from "./checkers.js";
import type { FailoverMutant, MachineClock } from "./agent.js";
import { FailoverNode, SERVICE } from "./node.js";
import { encodeSwitchover, switchoverKey } from "../../failover/active-record.js";
import type { FailoverNodeWorld } from "./node.js";
import type { AgentReply, AgentRequest } from "./protocol.js";

/** The documented bound on clock-rate difference the simulated clocks drift within (docs/failover.md). */
export const SIM_CLOCK_RATE_ERROR_MAX = 0.005;
/** The shared nemesis's faults this simulator uses (no membership changes: every machine is a voter). */
const NEMESIS_ACTIONS: readonly NemesisAction[] = [
  "partition", "isolate-leader", "isolate-node", "one-way", "bridge", "crash-node", "crash-leader",
  "crash-leader-after-append", "pause-node", "pause-leader", "pause-isolated-leader", "storm", "slow-disk",
  "transfer-leader", "campaign", "crash-after-send", "crash-mid-write",
];
const SETTLE_CHECK_INTERVAL_US = 20_000;
const PROPOSAL_TIMEOUT_MS = 1_000;
const READ_TIMEOUT_MS = 500;
const DISK_MIN_US = 100;

/** Options of one schedule. */
export interface FailoverScheduleOptions {
  readonly seed: number;
  readonly voters: 3 | 5;
  readonly mutant: FailoverMutant | null;
  readonly trace?: (line: string) => void;
  /**
   * "chaos" (default): the fault phase above. "crash-active" / "freeze-active": no other fault;
   * once an instance acts, its machine is crashed (kill -9 of everything) or frozen (SIGSTOP of
   * everything) for 4 TTL, and the schedule ends when another machine's instance acts: the
   * takeover time, with production's Raft tick (50 ms, elections of 500–1000 ms).
   */
  readonly scenario?: FailoverScenario;
  /** Lease TTL for the takeover scenarios (default DEFAULT_FENCING_PARAMS'); keep-alive every TTL/4. */
  readonly leaseTtlMs?: number;
  /** Stop timeout for the takeover scenarios (default DEFAULT_FENCING_PARAMS'). */
  readonly stopTimeoutMs?: number;
}

/** What a schedule does: random faults, or one measured takeover. */
export type FailoverScenario = "chaos" | "crash-active" | "freeze-active";

/** What one schedule did and found. */
export interface FailoverScheduleResult extends ScheduleStats {
  readonly seed: number;
  readonly violation: FailoverViolation | null;
  /** Distinct activations (holder changes and resumptions). */
  readonly activations: number;
  /** True ms from the heal until an instance acted. */
  readonly recoveryMs: number;
  /** Smallest true time between one holder's end of acting and the next holder's start (Infinity: no handover). */
  readonly closestHandoverMs: number;
  /** Smallest time left on the leader's lease clock when an instance stopped acting (Infinity: never measured). */
  readonly closestLeaseMarginMs: number;
  /** Takeover times in virtual ms (the takeover scenarios: one per schedule). */
  readonly takeoversMs: readonly number[];
  /** Those of them where the struck machine was also the Raft leader. */
  readonly leaderTakeoversMs: readonly number[];
  /** Acting intervals ended by the agent's own fencing, by the watchdog, and demotions of any cause. */
  readonly agentFences: number;
  readonly watchdogKills: number;
  readonly demotions: number;
  readonly linearizabilityUndecided: false;
}

interface FailoverParams extends RaftKnobs, LinkParams {
  readonly tickUs: number;
  readonly maxNodeId: number;
  readonly clocks: readonly MachineClock[];
  readonly faultPhaseUs: number;
  readonly nemesisGapMinUs: number;
  readonly nemesisGapMaxUs: number;
  readonly agentFaultGapUs: number;
  readonly diskMaxUs: number;
  readonly fencing: FencingParams;
}

const FLAP: FlapParams = { windowMs: 3_000, threshold: 4, backoffBaseMs: 50, backoffMaxMs: 400 };

function drawParams(rng: Rng, voters: number, options: FailoverScheduleOptions): FailoverParams {
  const scenario = options.scenario ?? "chaos";
  const intensity = rng.float();
  const rho = SIM_CLOCK_RATE_ERROR_MAX;
  // Rates at the edges of the bound are the interesting ones: a slow agent and a fast leader.
  const rate = (): number => rng.pick([1 - rho, 1 + rho, 1 - rho + 2 * rho * rng.float()]);
  const leaseTtlMs = rng.range(300, 600);
  const drawn: FencingParams = { leaseTtlMs, clockRateErrorMax: rho, safetyMarginMs: 5, stopTimeoutMs: rng.range(10, 60), renewIntervalMs: Math.floor(leaseTtlMs / 4) };
  const ttl = options.leaseTtlMs ?? DEFAULT_FENCING_PARAMS.leaseTtlMs;
  const fencing: FencingParams = scenario === "chaos" ? drawn : {
    ...DEFAULT_FENCING_PARAMS, leaseTtlMs: ttl, renewIntervalMs: Math.floor(ttl / 4), stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_FENCING_PARAMS.stopTimeoutMs,
  };
  const why = checkFencingParams(fencing);
  if (why !== null) throw new Error(`Drawn fencing settings are unusable: ${why}`);
  return {
    tickUs: scenario === "chaos" ? 10_000 : 50_000,
    maxNodeId: voters,
    clocks: Array.from({ length: voters + 1 }, () => ({ rate: rate(), offsetUs: rng.range(0, 1_000_000_000) })),
    electionTicks: 10,
    heartbeatTicks: rng.range(1, 3),
    maxEntriesPerAppend: rng.pick([4, 64]),
    maxBytesPerAppend: 1 << 20,
    maxInflightAppends: rng.pick([8, 64]),
    maxUncommittedEntries: 1024,
    preVote: rng.chance(0.7),
    checkQuorum: rng.chance(0.7),
    faultPhaseUs: rng.range(2_000_000, 4_000_000),
    ...nemesisGapsUs(intensity),
    agentFaultGapUs: rng.range(150_000, 600_000),
    diskMaxUs: rng.range(500, 3_000),
    ...drawLinkParams(rng),
    fencing,
  };
}

type SimEvent =
  | DeliverEvent
  | { readonly kind: "agentRequest"; readonly from: NodeId; readonly to: NodeId; readonly req: AgentRequest }
  | { readonly kind: "agentReply"; readonly from: NodeId; readonly to: NodeId; readonly life: number; readonly reply: AgentReply }
  | { readonly kind: "activeChanged"; readonly from: NodeId; readonly to: NodeId };

/** Runs one schedule to its end or its first violation. */
export function runFailoverSchedule(options: FailoverScheduleOptions): FailoverScheduleResult {
  return new FailoverSimulation(options).run();
}

/** The world of one failover schedule. Use runFailoverSchedule(). */
export class FailoverSimulation extends NodeClusterWorld<FailoverNode, Exclude<SimEvent, DeliverEvent>> implements FailoverNodeWorld, NemesisWorld<FailoverNode> {
  readonly rng: Rng;
  readonly mutant: FailoverMutant | null;
  readonly checker = new ActingChecker();
  readonly params: FailoverParams;
  readonly fencing: FencingParams;
  readonly flap = FLAP;
  readonly tracing: boolean;
  private readonly raftRng: Rng;
  private readonly faultRng: Rng;
  private readonly nemesis: Nemesis<FailoverNode>;
  private readonly slowDisks = new SlowDisks();
  private finished = false;
  private healed = false;
  private recoveredAtUs: number | null = null;
  private readonly scenario: FailoverScenario;

  constructor(private readonly options: FailoverScheduleOptions) {
    super(options.trace);
    const root = createRng(options.seed);
    this.scenario = options.scenario ?? "chaos";
    this.params = drawParams(root.fork(), options.voters, options);
    this.fencing = this.params.fencing;
    this.rng = root.fork();
    this.raftRng = root.fork();
    this.faultRng = root.fork();
    this.nemesis = new Nemesis(this, root.fork(), NEMESIS_ACTIONS);
    this.tracing = options.trace !== undefined;
    this.mutant = options.mutant;
    this.network.quality = this.params.network;
    this.checker.leaseRemainingMs = (id) => this.leaseRemainingOnLeadersMs(id);
  }

  run(): FailoverScheduleResult {
    let violation: FailoverViolation | null = null;
    try {
      this.setUp();
      this.agenda.runUntil(() => this.finished, this.checker);
    } catch (err) {
      violation = err instanceof FailoverViolationFound ? err.violation : this.coreInvariantViolation(err);
    }
    return {
      seed: this.options.seed,
      violation,
      ...this.scheduleStats({ history: this.checker.intervals, acknowledged: this.checker.intervals.length, timedOut: 0 }),
      activations: this.checker.intervals.length,
      recoveryMs: this.recoveredAtUs === null ? -1 : (this.recoveredAtUs - this.params.faultPhaseUs) / 1000,
      closestHandoverMs: this.checker.closestHandoverUs / 1000,
      closestLeaseMarginMs: this.checker.closestLeaseMarginMs,
      takeoversMs: this.checker.takeoversUs.map((us) => us / 1000),
      leaderTakeoversMs: this.checker.leaderTakeoversUs.map((us) => us / 1000),
      ...this.checker.tally,
      linearizabilityUndecided: false,
    };
  }

  private setUp(): void {
    const voters = Array.from({ length: this.options.voters }, (_, i) => nodeId(i + 1));
    for (const id of voters) this.addNode(id, { voters, learners: [] });
    if (this.scenario !== "chaos") return this.measureTakeover(this.scenario);
    this.nemesis.start();
    this.scheduleAgentFault();
    this.at(this.params.faultPhaseUs, () => this.heal());
  }

  addNode(id: NodeId, bootstrap: ConfState | null): FailoverNode {
    const existing = this.nodes.get(id);
    if (existing !== undefined) return existing;
    const clock = this.params.clocks[id] as MachineClock;
    const node = new FailoverNode(id, bootstrap, clock, this);
    this.nodes.set(id, node);
    this.startNode(node);
    return node;
  }

  startNode(node: FailoverNode): void {
    if (node.up) return;
    const lost = node.start();
    if (lost !== null) throw new Error(`node ${node.id} cannot restart: ${lost}`);
    this.mix(0x51a7, node.id);
    const intervalUs = Math.round(this.params.tickUs / node.clock.rate);
    this.agenda.startClock(node, this.rng.range(1, intervalUs), intervalUs);
  }

  slowDisk(node: NodeId, untilUs: number): void {
    this.slowDisks.slow(node, untilUs);
  }

  get isHealed(): boolean {
    return this.healed;
  }

  /** The machine whose instance acts (or is stopping), if any. */
  private actingNode(): FailoverNode | null {
    for (const n of this.nodes.values()) if (n.up && (n.agent.instance === "active" || n.agent.instance === "stopping")) return n;
    return null;
  }

  /** Failover's own faults, aimed at the acting machine when there is one. */
  private scheduleAgentFault(): void {
    this.after(this.faultRng.range(this.params.agentFaultGapUs / 3, this.params.agentFaultGapUs), () => {
      if (this.healed) return;
      const rng = this.faultRng;
      const ttlUs = this.fencing.leaseTtlMs * 1000;
      const target = this.actingNode() ?? rng.pick([...this.nodes.values()]);
      const forUs = rng.range(Math.round(ttlUs * 0.3), Math.round(ttlUs * 3));
      switch (rng.int(5)) {
        case 0:
          if (!target.agent.up || target.agent.paused) break;
          this.trace(`fault: SIGSTOP of n${target.id}'s agent alone for ${(forUs / 1000).toFixed(0)}ms`);
          target.agent.pauseAgent();
          this.after(forUs, () => target.agent.resumeAgent());
          break;
        case 1:
          if (!target.up || target.paused) break;
          this.trace(`fault: freeze of machine n${target.id} for ${(forUs / 1000).toFixed(0)}ms`);
          if (this.checker.isActing(target.id)) this.checker.faultStruckActive(target.id, this.currentLeader() === target);
          target.pause();
          this.after(forUs, () => {
            if (target.paused) target.resume();
          });
          break;
        case 2: {
          const others = [...this.nodes.keys()].filter((i) => i !== target.id);
          const cut = this.network.cut(`isolate n${target.id}`, linksBetween([target.id], others));
          this.trace(`fault: isolate n${target.id} for ${(forUs / 1000).toFixed(0)}ms`);
          this.after(forUs, () => this.network.heal(cut.id));
          break;
        }
        case 3: {
          const others = [...this.nodes.values()].filter((n) => n !== target && n.up);
          const leader = this.currentLeader();
          if (others.length === 0 || leader === null || leader.core === null) break;
          const to = rng.pick(others).id;
          this.trace(`operator: planned switchover of the active on n${target.id} to n${to}`);
          leader.input(() => leader.core?.propose({ type: "put", key: switchoverKey(SERVICE), value: encodeSwitchover({ to, requestedAtMs: 0 }) }, () => undefined));
          target.agent.requestRelease();
          break;
        }
        default: {
          if (!target.up) break;
          this.trace(`fault: crash of machine n${target.id} for ${(forUs / 1000).toFixed(0)}ms`);
          if (this.checker.isActing(target.id)) this.checker.faultStruckActive(target.id, this.currentLeader() === target);
          target.crash();
          const life = target.incarnation;
          this.after(forUs, () => {
            if (!target.up && target.incarnation === life && !this.healed) this.startNode(target);
          });
        }
      }
      this.scheduleAgentFault();
    });
  }

  /** One fault on the acting machine once things are calm; the schedule ends at the takeover. */
  private measureTakeover(scenario: "crash-active" | "freeze-active"): void {
    const ttlUs = this.fencing.leaseTtlMs * 1000;
    const boundUs = 20 * ttlUs;
    let strikeAtUs: number | null = null;
    let struck: FailoverNode | null = null;
    const poll = (): void => {
      const now = this.agenda.nowUs;
      if (now > boundUs) this.checker.report("liveness", `no takeover within ${(boundUs / 1000).toFixed(0)}ms`);
      if (struck === null) {
        const acting = this.actingNode();
        // Strike at a random phase of the keep-alive cycle, one TTL after the first active.
        if (acting !== null && strikeAtUs === null) strikeAtUs = now + ttlUs + this.faultRng.range(0, this.fencing.renewIntervalMs * 1000);
        if (acting !== null && strikeAtUs !== null && now >= strikeAtUs) {
          struck = acting;
          this.checker.faultStruckActive(acting.id, this.currentLeader() === acting);
          this.trace(`takeover: ${scenario === "crash-active" ? "crash" : "freeze"} of machine n${acting.id} (leader: n${this.currentLeader()?.id ?? 0})`);
          if (scenario === "crash-active") acting.crash();
          else acting.pause();
          const target = acting;
          this.after(4 * ttlUs, () => {
            if (target.paused) target.resume();
            if (!target.up) this.startNode(target);
          });
        }
      } else if (this.checker.takeoversUs.length > 0) {
        this.finished = true;
        return;
      }
      this.after(SETTLE_CHECK_INTERVAL_US / 4, poll);
    };
    this.after(SETTLE_CHECK_INTERVAL_US, poll);
  }

  private heal(): void {
    this.healed = true;
    this.trace("heal: links restored, machines restarted and resumed, network calm");
    this.nemesis.stop();
    this.network.healAll();
    this.network.quality = CALM_NETWORK;
    this.slowDisks.clear();
    for (const node of this.nodes.values()) {
      node.trigger = null;
      if (node.paused) node.resume();
      node.agent.resumeAgent();
      if (node.up && (node.diskFailing || node.core?.state !== "running")) node.crash();
      if (!node.up) this.startNode(node);
    }
    const ttlUs = this.fencing.leaseTtlMs * 1000;
    // Worst case: the old holder's lease runs a full TTL, the damping pause, then a few rounds.
    const boundUs = 4 * ttlUs + FLAP.backoffMaxMs * 1000 + 1_000_000;
    const deadline = this.agenda.nowUs + boundUs;
    const observeUntil = this.agenda.nowUs + 2 * ttlUs;
    const check = (): void => {
      if (this.checker.anyActing && this.recoveredAtUs === null) this.recoveredAtUs = this.agenda.nowUs;
      if (this.recoveredAtUs !== null && this.agenda.nowUs >= observeUntil && this.checker.anyActing) {
        this.finished = true;
        return;
      }
      if (this.agenda.nowUs >= deadline) this.checker.report("liveness", `${(boundUs / 1000).toFixed(0)}ms after the heal no instance acts as active`);
      this.after(SETTLE_CHECK_INTERVAL_US, check);
    };
    this.after(SETTLE_CHECK_INTERVAL_US, check);
  }

  /**
   * Time left on a lease on the lease clock of every leader that could still commit its expiry
   * (paused ones too: their clock runs on), the smallest; undefined when none knows the lease. A
   * leader is out of the game once a majority has durably moved to a higher term (they voted in a
   * newer election), so its expiry can never commit: a deposed, isolated leader's clock does not count.
   */
  private leaseRemainingOnLeadersMs(id: number): number | undefined {
    const majority = Math.floor(this.nodes.size / 2) + 1;
    let least: number | undefined;
    for (const n of this.nodes.values()) {
      const core = n.core;
      if (core === null || core.currentRole !== "leader") continue;
      const term = core.status().term;
      let above = 0;
      for (const m of this.nodes.values()) if (m.storage.durable.hardState.term > term) above++;
      if (above >= majority) continue;
      const left = core.leaseRemainingMs(id);
      if (left !== undefined && (least === undefined || left < least)) least = left;
    }
    return least;
  }

  onRole(node: FailoverNode): void {
    this.trace(`n${node.id} is ${node.role} (leader n${node.leader})`);
    if (node.role === "leader") this.nemesis.onBecameLeader(node);
  }

  tuning(): NodeTuning {
    return {
      raft: raftSettings(this.params),
      snapshotEveryEntries: 64,
      proposalTimeoutMs: PROPOSAL_TIMEOUT_MS,
      readTimeoutMs: READ_TIMEOUT_MS,
      maxPendingProposals: 1024,
      maxPendingReads: 256,
    };
  }

  raftRandomInt(n: number): number {
    return this.raftRng.int(n);
  }

  diskLatencyUs(node: NodeId): number {
    return this.slowDisks.latencyUs(node, this.agenda.nowUs, this.rng, DISK_MIN_US, this.params.diskMaxUs);
  }

  storeNodes(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  sendAgentRequest(from: NodeId, to: NodeId, req: AgentRequest): void {
    this.mix(0xa6, req.agent * 65536 + req.reqId);
    for (const d of this.linkDelays(from, to)) this.agenda.push(this.agenda.nowUs + d, { kind: "agentRequest", from, to, req });
  }

  notifyPromoted(from: NodeId, to: NodeId): void {
    for (const d of this.linkDelays(from, to)) this.agenda.push(this.agenda.nowUs + d, { kind: "activeChanged", from, to });
  }

  /** Delays of the copies of one message on a link (none when cut or lost); on one machine it never fails. */
  private linkDelays(from: NodeId, to: NodeId): readonly number[] {
    if (from === to) return [this.rng.range(20, 200)];
    if (this.network.isBlocked(from, to)) return [];
    return this.network.fate(this.rng);
  }

  protected dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case "deliver":
        this.deliver(ev.msg);
        return;
      case "agentRequest": {
        if (ev.from !== ev.to && this.network.isBlocked(ev.from, ev.to)) return;
        const node = this.nodes.get(ev.to);
        if (node === undefined || !node.up) return;
        node.handleAgent(ev.req, (reply) => {
          for (const d of this.linkDelays(ev.to, ev.from)) this.agenda.push(this.agenda.nowUs + d, { kind: "agentReply", from: ev.to, to: ev.from, life: ev.req.incarnation, reply });
        });
        return;
      }
      case "agentReply": {
        if (ev.from !== ev.to && this.network.isBlocked(ev.from, ev.to)) return;
        const agent = this.nodes.get(ev.to)?.agent;
        if (agent === undefined || agent.life !== ev.life) return;
        this.mix(0xa7, ev.reply.reqId);
        agent.onReply(ev.reply);
        return;
      }
      case "activeChanged": {
        if (ev.from !== ev.to && this.network.isBlocked(ev.from, ev.to)) return;
        this.nodes.get(ev.to)?.agent.onActiveChanged();
        return;
      }
    }
  }
}
