// One simulated schedule: a cluster of real Raft cores in node shells, simulated clients, a
// network and disks, all driven by one event queue in virtual time and one seeded generator, so a
// seed reproduces the schedule exactly. Faults happen during a fault phase; then everything heals
// and the cluster must settle within a bound (liveness). Safety is checked at every step; the
// client history is checked for linearizability at the end.
import type { ConfChange, ConfState, Message, NodeId } from "../raft/raft.js";
import type { NodeMutant } from "../node/mutants.js";
import type { NodeTuning } from "../node/node-core.js";
import { decodeCommand } from "../kv/store.js";
import { NO_NODE, nodeId } from "../raft/raft.js";
import { SafetyChecker, ViolationFound } from "./checkers.js";
import type { Violation } from "./checkers.js";
import { checkLinearizable } from "./linearizability/checker.js";
import { registerModel } from "./linearizability/register-model.js";
import { explainRegisterViolation } from "./linearizability/report.js";
import { Nemesis } from "./nemesis.js";
import type { NemesisAction } from "./nemesis.js";
import { CALM_NETWORK, Network } from "./network.js";
import { SimNode } from "./node-shell.js";
import type { NodeWorld } from "./node-shell.js";
import { drawParams } from "./params.js";
import type { ScheduleParams, SimOptions } from "./params.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import { createRng } from "./rng.js";
import type { Rng } from "./rng.js";
import { ScheduleWorld } from "./schedule-world.js";
import type { ScheduleStats } from "./schedule-world.js";
import { raftSettings } from "./sim-raft.js";
import { SlowDisks } from "./slow-disks.js";
import { describeMessage } from "./trace-format.js";
import { Workload } from "./workload.js";
import type { HistoryOp, WorkloadWorld } from "./workload.js";

export { MAX_EVENTS_PER_SCHEDULE } from "./agenda.js";
/** Search steps the linearizability check may take per key. */
export const LINEARIZABILITY_STEPS_PER_KEY = 1_000_000;
/** The node core's proposal deadline in virtual time (production: 5 s against 0.5–1 s elections). */
const PROPOSAL_TIMEOUT_MS = 1_000;
/** The node core's read deadline in virtual time (production: 3 s). */
const READ_TIMEOUT_MS = 500;
/** How often the settle condition is checked after the heal. */
const SETTLE_CHECK_INTERVAL_US = 20_000;

/** Options of one schedule. */
export interface ScheduleOptions extends SimOptions {
  readonly seed: number;
  /** Receives a readable trace line per event when set. */
  readonly trace?: (line: string) => void;
  /** Restricts the nemesis to these faults (scenario tests); the full mix when undefined. */
  readonly faults?: readonly NemesisAction[];
}

/** What one schedule did and found. */
export interface ScheduleResult extends ScheduleStats {
  readonly seed: number;
  readonly violation: Violation | null;
  /** True when the linearizability search hit its bound ("unknown" verdict). */
  readonly linearizabilityUndecided: boolean;
}

/** Runs one schedule to the end (or to its first violation). */
export function runSchedule(options: ScheduleOptions): ScheduleResult {
  return new Simulation(options).run();
}

/** This simulator's own events on the agenda. The frequent ones are plain records (no closure per message). */
type SimEvent =
  | { readonly kind: "deliver"; readonly msg: Message }
  | { readonly kind: "request"; readonly to: NodeId; readonly req: ClientRequest }
  | { readonly kind: "reply"; readonly reply: ClientReply };

const MESSAGE_CODES: Record<Message["type"], number> = {
  append: 1, appendResponse: 2, heartbeat: 3, heartbeatResponse: 4, vote: 5, preVote: 6, voteResponse: 7,
  preVoteResponse: 8, snapshot: 9, timeoutNow: 10, readIndex: 11, readIndexResponse: 12,
};

/** The world of one schedule. Exported for the nemesis and tests; use runSchedule(). */
export class Simulation extends ScheduleWorld<SimNode, SimEvent> implements NodeWorld, WorkloadWorld {
  readonly rng: Rng;
  readonly checker: SafetyChecker = new SafetyChecker();
  readonly params: ScheduleParams;
  readonly network = new Network();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly workload: Workload;
  readonly nodeMutants: ReadonlySet<NodeMutant>;
  readonly tracing: boolean;
  private readonly raftRng: Rng;
  private readonly nemesis: Nemesis<SimNode>;
  private finished = false;
  private healed = false;
  private readonly slowDisks = new SlowDisks();
  /** Values of every write and compare-and-swap some node applied (values are unique per operation). */
  private readonly appliedWriteValues = new Set<number>();
  /** The register value each applied command entry writes (null: none), by entry data. */
  private readonly writtenValues = new WeakMap<Uint8Array, number | null>();

  constructor(private readonly options: ScheduleOptions) {
    super(options.trace);
    const root = createRng(options.seed);
    this.params = drawParams(root.fork(), options);
    this.rng = root.fork();
    this.raftRng = root.fork();
    this.tracing = options.trace !== undefined;
    // The shell's old send-before-persist is the node core's send-all-before-fsync.
    this.nodeMutants = new Set<NodeMutant>(options.mutant === "send-before-persist" ? ["send-all-before-fsync"] : []);
    this.network.quality = this.params.network;
    this.workload = new Workload(this, this.params.workload);
    this.nemesis = new Nemesis(this, root.fork(), options.faults);
  }

  // ---------------------------------------------------------------- running

  /** Runs the schedule. */
  run(): ScheduleResult {
    let violation: Violation | null = null;
    let undecided = false;
    try {
      this.setUp();
      this.agenda.runUntil(() => this.finished, this.checker);
      const lin = checkLinearizable(registerModel, this.checkedHistory(), { maxStepsPerKey: LINEARIZABILITY_STEPS_PER_KEY });
      if (lin.verdict === "illegal") {
        const key = String(lin.key);
        const why = explainRegisterViolation(this.workload.history, key, lin.blocking);
        this.checker.report("linearizability", `the history of key "${key}" is not linearizable (${this.workload.history.length} operations)\n${why}`);
      }
      undecided = lin.verdict === "unknown";
    } catch (err) {
      violation = this.toViolation(err);
    }
    return {
      seed: this.options.seed,
      violation,
      ...this.scheduleStats(this.workload),
      linearizabilityUndecided: undecided,
    };
  }

  /**
   * The client history, less the timed-out operations that never happened: once the cluster has
   * settled, every committed entry is applied everywhere, so a write no node applied is in no log
   * (the other checkers vouch for the logs) and will never be. Dropping them keeps the search
   * small: each unknown operation can otherwise be placed anywhere after its call.
   */
  private checkedHistory(): HistoryOp[] {
    return this.workload.history.filter((op) =>
      op.output !== null || op.input.kind === "read" || this.appliedWriteValues.has(op.input.value));
  }

  protected dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case "deliver":
        this.deliver(ev.msg);
        return;
      case "request": {
        const node = this.nodes.get(ev.to);
        if (node === undefined || !node.up) this.bounce(ev.to, ev.req);
        else node.request(ev.req);
        return;
      }
      case "reply":
        this.workload.onReply(ev.reply);
        return;
    }
  }

  private toViolation(err: unknown): Violation {
    return err instanceof ViolationFound ? err.violation : this.coreInvariantViolation(err);
  }

  private setUp(): void {
    const p = this.params;
    const voters = Array.from({ length: p.voters }, (_, i) => nodeId(i + 1));
    const learners = Array.from({ length: p.learners }, (_, i) => nodeId(p.voters + i + 1));
    const bootstrap: ConfState = { voters, learners };
    for (const id of [...voters, ...learners]) this.addNode(id, bootstrap);
    this.workload.start();
    this.nemesis.start();
    this.at(p.faultPhaseUs, () => this.heal());
  }

  /** Creates and starts a node process. */
  addNode(id: NodeId, bootstrap: ConfState | null): SimNode {
    const existing = this.nodes.get(id);
    if (existing !== undefined) return existing;
    const node = new SimNode(id, bootstrap, this);
    this.nodes.set(id, node);
    this.startNode(node);
    return node;
  }

  /** Starts a stopped node and its clock. */
  startNode(node: SimNode): void {
    if (node.up || node.decommissioned) return;
    if (this.tracing) this.trace(`n${node.id} starts (durable term ${node.storage.durable.hardState.term}, last index ${node.storage.durable.lastIndex})`);
    node.start();
    this.mix(0x51a7, node.id);
    const intervalUs = Math.round(this.params.tickUs * (this.params.tickDrift[node.id] ?? 1));
    this.agenda.startClock(node, this.rng.range(1, intervalUs), intervalUs);
  }

  private heal(): void {
    this.healed = true;
    if (this.tracing) this.trace("heal: links restored, nodes restarted and resumed, network calm");
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
    this.workload.markHealed();
    const deadline = this.agenda.nowUs + this.params.livenessBoundUs;
    const check = (): void => {
      const pending = this.unsettledReason();
      if (pending === null) {
        this.finished = true;
        this.workload.stop();
        return;
      }
      if (this.agenda.nowUs >= deadline) {
        this.checker.report("liveness", `${this.params.livenessBoundUs / 1000}ms after the heal the cluster has not settled: ${pending}`);
      }
      this.at(this.agenda.nowUs + SETTLE_CHECK_INTERVAL_US, check);
    };
    this.at(this.agenda.nowUs + SETTLE_CHECK_INTERVAL_US, check);
  }

  /** Null when the cluster settled after the heal; else why not. */
  private unsettledReason(): string | null {
    const leader = this.currentLeader();
    if (leader === null) return "no leader";
    const st = leader.status();
    if (st === null) return "no leader";
    for (const n of this.nodes.values()) {
      if (n.up && n.term > st.term) return `node ${n.id} has term ${n.term} above leader ${leader.id}'s ${st.term}`;
    }
    if (st.commit < st.lastIndex) return `leader ${leader.id} has entries up to ${st.lastIndex} but commit ${st.commit}`;
    if (!this.workload.settled) return `clients still waiting for a write: ${this.workload.describePending()}`;
    if (this.checker.maxAcked > st.commit) {
      this.checker.report("acknowledged-write-lost", `a write acknowledged at index ${this.checker.maxAcked} is beyond the settled leader's log (commit ${st.commit})`);
    }
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      const n = this.nodes.get(id);
      if (n === undefined || !n.up) return `member ${id} is down`;
      if (n.appliedIndex < st.commit) return `member ${id} applied ${n.appliedIndex} of ${st.commit}`;
    }
    return null;
  }

  /** The running, unpaused leader with the highest term, if any. */
  currentLeader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes.values()) {
      if (n.up && !n.paused && n.role === "leader" && (best === null || n.term > best.term)) best = n;
    }
    return best;
  }

  /** Whether the fault phase is over. */
  get isHealed(): boolean {
    return this.healed;
  }

  // ---------------------------------------------------------------- NodeWorld (scheduling and trace: ScheduleWorld)

  tuning(): NodeTuning {
    const mutant = this.options.mutant;
    return {
      raft: raftSettings(this.params, mutant === null || mutant === "send-before-persist" ? new Set() : new Set([mutant])),
      snapshotEveryEntries: this.params.snapshotEveryEntries,
      proposalTimeoutMs: PROPOSAL_TIMEOUT_MS,
      readTimeoutMs: READ_TIMEOUT_MS,
      tickMs: this.params.tickUs / 1000,
    };
  }

  raftRandomInt(n: number): number {
    return this.raftRng.int(n);
  }

  send(msg: Message): void {
    this.mix(MESSAGE_CODES[msg.type] * 256 + msg.from * 16 + msg.to, msg.term);
    if (this.network.isBlocked(msg.from, msg.to)) {
      if (this.tracing) this.trace(`n${msg.from} -> n${msg.to} ${describeMessage(msg)} [cut]`);
      return;
    }
    const delays = this.network.fate(this.rng);
    if (this.tracing) {
      const fate = delays.length === 0 ? " [dropped]" : delays.length > 1 ? " [duplicated]" : "";
      this.trace(`n${msg.from} -> n${msg.to} ${describeMessage(msg)}${fate}`);
    }
    for (const d of delays) this.agenda.push(this.agenda.nowUs + d, { kind: "deliver", msg });
  }

  private deliver(msg: Message): void {
    if (this.network.isBlocked(msg.from, msg.to)) return;
    const node = this.nodes.get(msg.to);
    if (node === undefined || !node.up) return;
    this.mix(MESSAGE_CODES[msg.type], msg.to);
    node.receive(msg);
  }

  reply(reply: ClientReply): void {
    this.mix(reply.kind === "ok" ? 0x0c : 0x0d, reply.clientId * 65536 + reply.opId);
    if (this.tracing) {
      const what = reply.kind === "ok" ? `ok ${JSON.stringify(reply.output)}${reply.index > 0 ? ` at ${reply.index}/${reply.term}` : ""}`
        : reply.kind === "refused" ? `refused ${reply.code} hint n${reply.leaderHint}` : `unknown outcome (${reply.code})`;
      this.trace(`n${reply.from} -> client ${reply.clientId} op ${reply.opId}: ${what}`);
    }
    if (this.params.replyDropProbability > 0 && this.rng.chance(this.params.replyDropProbability)) return;
    this.agenda.push(this.agenda.nowUs + this.rng.range(100, this.params.clientLatencyMaxUs), { kind: "reply", reply });
  }

  diskLatencyUs(node: NodeId): number {
    return this.slowDisks.latencyUs(node, this.agenda.nowUs, this.rng, this.params.diskMinUs, this.params.diskMaxUs);
  }

  /** Makes a node's disk slow until `untilUs`. */
  slowDisk(node: NodeId, untilUs: number): void {
    this.slowDisks.slow(node, untilUs);
  }

  onCommandApplied(data: Uint8Array): void {
    // Decoded once per schedule: every node applies the very same entry objects (the simulated
    // network passes them by reference).
    let value = this.writtenValues.get(data);
    if (value === undefined) {
      const cmd = decodeCommand(data);
      const put = cmd.type === "put" ? cmd : cmd.type === "txn" ? cmd.success[0] : undefined;
      value = put !== undefined && put.type === "put" ? Number(new TextDecoder().decode(put.value)) : null;
      this.writtenValues.set(data, value);
    }
    if (value !== null) this.appliedWriteValues.add(value);
  }

  onConfApplied(node: NodeId, cc: ConfChange, _conf: ConfState): void {
    if (cc.type !== "removeNode") return;
    const target = this.nodes.get(cc.nodeId);
    if (target === undefined || target.decommissioned) return;
    // The removal is committed: the operator shuts the removed server down for good, a little
    // later so that a removed leader can hand over first.
    target.decommissioned = true;
    if (this.tracing) this.trace(`n${node} applied the removal of n${cc.nodeId}: it will be shut down`);
    this.after(30_000, () => {
      if (target.up) target.crash();
    });
  }

  onBecameLeader(node: SimNode): void {
    this.nemesis.onBecameLeader(node);
  }

  // ---------------------------------------------------------------- WorkloadWorld

  sendRequest(to: NodeId, req: ClientRequest): void {
    this.mix(0x0e, req.clientId * 65536 + req.opId);
    if (this.tracing) this.trace(`client ${req.clientId} -> n${to} op ${req.opId}#${req.attempt} ${JSON.stringify(req.input)}`);
    this.agenda.push(this.agenda.nowUs + this.rng.range(100, this.params.clientLatencyMaxUs), { kind: "request", to, req });
  }

  /** A request reached a node that is down: the connection is refused, so it surely did not happen. */
  private bounce(to: NodeId, req: ClientRequest): void {
    this.reply({ kind: "refused", clientId: req.clientId, opId: req.opId, attempt: req.attempt, from: to, code: "unavailable", leaderHint: NO_NODE });
  }

  nodeIds(): readonly NodeId[] {
    return [...this.nodes.keys()];
  }

  onAcknowledged(index: number, term: number): void {
    this.checker.onAcknowledged(index, term);
  }
}
