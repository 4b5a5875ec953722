// The nemesis: during the fault phase it strikes every so often with one fault from a weighted
// mix, random or aimed at the current leader (the targeted ones reach the triggers of the classic
// Raft bugs: a deposed leader still serving, the Figure 8 history, a vote forgotten in a crash).
// It also plays the operator: membership changes, leadership transfers and graceful stops happen
// during faults. Both simulators use it (the register one and kv/): it strikes node processes
// (node-process.ts) running the node core, through the small NemesisWorld interface.
import type { ConfState, NodeId } from "../raft/raft.js";
import { nodeId } from "../raft/raft.js";
import type { LinkQuality } from "./network.js";
import { linksBetween, linksFrom } from "./network.js";
import type { Network } from "./network.js";
import type { NodeProcess, ReadyTrigger } from "./node-process.js";
import type { Ready } from "../raft/raft.js";
import type { Rng } from "./rng.js";

/** A node the nemesis can strike: a simulated process around a node core. */
export interface NemesisNode extends NodeProcess {
  /** Power loss (the disk keeps what was synced); returns what the crash did, for the trace. */
  crash(): string;
  /** SIGTERM: the core answers what waits, queued writes finish, the process exits. */
  stop(): string;
}

/** What the nemesis needs from a simulation. */
export interface NemesisWorld<N extends NemesisNode> {
  readonly nodes: ReadonlyMap<NodeId, N>;
  readonly network: Network;
  readonly params: {
    readonly electionTicks: number;
    readonly tickUs: number;
    readonly maxNodeId: number;
    readonly nemesisGapMinUs: number;
    readonly nemesisGapMaxUs: number;
    readonly network: LinkQuality;
    readonly storm: LinkQuality;
  };
  readonly tracing: boolean;
  readonly isHealed: boolean;
  currentLeader(): N | null;
  startNode(node: N): void;
  addNode(id: NodeId, bootstrap: ConfState | null): N;
  slowDisk(node: NodeId, untilUs: number): void;
  nowUs(): number;
  after(delayUs: number, fn: () => void): void;
  trace(line: string): void;
}

/** The kinds of fault the nemesis can strike with. */
export type NemesisAction =
  | "partition" | "isolate-leader" | "isolate-node" | "one-way" | "bridge"
  | "crash-node" | "crash-leader" | "crash-leader-after-append" | "pause-node" | "pause-leader"
  | "pause-isolated-leader" | "storm" | "slow-disk" | "conf-change" | "transfer-leader" | "campaign"
  | "crash-after-send" | "crash-mid-write" | "figure-8" | "stop-node" | "disk-failure";

const WEIGHTS: readonly (readonly [NemesisAction, number])[] = [
  ["partition", 10], ["isolate-leader", 10], ["isolate-node", 4], ["one-way", 7], ["bridge", 5],
  ["crash-node", 7], ["crash-leader", 8], ["crash-leader-after-append", 8], ["pause-node", 4], ["pause-leader", 5],
  ["pause-isolated-leader", 7], ["storm", 5], ["slow-disk", 4], ["conf-change", 10], ["transfer-leader", 6], ["campaign", 6],
  ["crash-after-send", 8], ["crash-mid-write", 6], ["figure-8", 6], ["stop-node", 5], ["disk-failure", 3],
];
/** How often the Figure 8 choreography checks whether the old leader can campaign yet. */
const FIGURE8_CAMPAIGN_ATTEMPTS = 40;
/** How long an armed trigger waits for its moment before it is disarmed. */
const TRIGGER_TIMEOUT_US = 600_000;
/** Every action the nemesis knows. */
export const NEMESIS_ACTIONS: readonly NemesisAction[] = WEIGHTS.map(([a]) => a);

/** Strikes faults at random times until stopped. */
export class Nemesis<N extends NemesisNode> {
  private stopped = false;
  /**
   * Ids whose removal was proposed: never added again. Like etcd's member ids, a removed id is not
   * reused — the removed server is shut down for good once it applies its removal, which may come
   * after a re-add of the same id had been proposed (seed 9018 of the 5-node soak).
   */
  private readonly retiredIds = new Set<NodeId>();
  /** One-shot reaction to the next node that wins an election (targeted partitions). */
  private leaderWatch: ((node: N) => boolean) | null = null;
  /** While a choreographed fault runs, random strikes hold off so they do not spoil it. */
  private choreographyUntilUs = 0;

  private readonly weights: readonly (readonly [NemesisAction, number])[];
  private readonly totalWeight: number;

  /** `only` restricts the mix to some actions (scenario tests); undefined keeps the full mix. */
  constructor(private readonly sim: NemesisWorld<N>, private readonly rng: Rng, only?: readonly NemesisAction[]) {
    this.weights = only === undefined ? WEIGHTS : WEIGHTS.filter(([a]) => only.includes(a));
    this.totalWeight = this.weights.reduce((sum, [, w]) => sum + w, 0);
  }

  /** Schedules the first strike. */
  start(): void {
    this.scheduleNext();
  }

  /** No more strikes (pending heal-ups still happen, and the heal restores everything anyway). */
  stop(): void {
    this.stopped = true;
    this.leaderWatch = null;
  }

  private scheduleNext(): void {
    const p = this.sim.params;
    this.sim.after(this.rng.range(p.nemesisGapMinUs, p.nemesisGapMaxUs), () => {
      if (this.stopped) return;
      if (this.sim.nowUs() >= this.choreographyUntilUs) {
        const action = this.pickAction();
        if (action !== null) this.strike(action);
      }
      this.scheduleNext();
    });
  }

  private pickAction(): NemesisAction | null {
    if (this.totalWeight === 0) return null;
    let r = this.rng.int(this.totalWeight);
    for (const [action, w] of this.weights) {
      if (r < w) return action;
      r -= w;
    }
    return "partition";
  }

  private trace(line: string): void {
    if (this.sim.tracing) this.sim.trace(`nemesis: ${line}`);
  }

  /** Nodes still part of the game (not shut down for good). */
  private liveIds(): NodeId[] {
    return [...this.sim.nodes.values()].filter((n) => !n.decommissioned).map((n) => n.id);
  }

  private shuffled(ids: NodeId[]): NodeId[] {
    const out = ids.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [out[i], out[j]] = [out[j] as NodeId, out[i] as NodeId];
    }
    return out;
  }

  private randomUpNode(): N | null {
    const up = [...this.sim.nodes.values()].filter((n) => n.up);
    return up.length === 0 ? null : this.rng.pick(up);
  }

  private cutFor(description: string, links: [number, number][], minUs: number, maxUs: number): void {
    const cut = this.sim.network.cut(description, links);
    const durationUs = this.rng.range(minUs, maxUs);
    this.trace(`${description} for ${(durationUs / 1000).toFixed(0)}ms`);
    this.sim.after(durationUs, () => {
      if (this.sim.network.heal(cut.id) !== undefined) this.trace(`heals ${description}`);
    });
  }

  private crashFor(node: N, why: string): void {
    if (!node.up) return;
    const what = node.crash();
    const downUs = this.rng.range(5_000, 300_000);
    this.trace(`crashes n${node.id} (${why}; ${what}) for ${(downUs / 1000).toFixed(0)}ms`);
    const incarnation = node.incarnation;
    this.sim.after(downUs, () => {
      if (node.incarnation === incarnation && !node.up && !this.sim.isHealed) this.sim.startNode(node);
    });
  }

  /** Arms a fault on `node` for its first Ready matching `when`; disarms it after a while. */
  private arm(
    node: N, why: string, phase: ReadyTrigger["phase"], when: (rd: Ready, n: NodeProcess) => boolean, fire: (n: N) => void,
  ): boolean {
    if (this.stopped || !node.up || node.trigger !== null) return false;
    this.trace(`arms n${node.id}: ${why}`);
    const incarnation = node.incarnation;
    const trigger: ReadyTrigger = { why, phase, when, fire: () => fire(node) };
    node.trigger = trigger;
    this.sim.after(TRIGGER_TIMEOUT_US, () => {
      if (node.incarnation === incarnation && node.trigger === trigger) node.trigger = null;
    });
    return true;
  }

  /** Crashes `node` now (from a trigger) and restarts it later. */
  private crashNow(node: N, minDownUs = 5_000, maxDownUs = 300_000): void {
    const what = node.crash();
    const downUs = this.rng.range(minDownUs, maxDownUs);
    this.trace(`n${node.id} crashed (${what}), down for ${(downUs / 1000).toFixed(0)}ms`);
    const crashed = node.incarnation;
    this.sim.after(downUs, () => {
      if (node.incarnation === crashed && !node.up && !this.sim.isHealed) this.sim.startNode(node);
    });
  }

  private isolate(id: NodeId, description: string): number {
    const others = this.liveIds().filter((i) => i !== id);
    return this.sim.network.cut(description, linksBetween([id], others)).id;
  }

  /** A node won an election: a watcher may strike before its first message as leader leaves. */
  onBecameLeader(node: N): void {
    const watch = this.leaderWatch;
    if (!this.stopped && watch !== null && watch(node)) this.leaderWatch = null;
  }

  /**
   * The Raft paper's Figure 8, choreographed with partitions and a crash (the Raft core acts freely
   * in between). The leader L1 is cut off right as it appends a client write; the next leader L2 is
   * cut off the moment it wins, before its no-op leaves; L1 rejoins and wins again (its log is
   * longer) and replicates its old entries; the power fails under L1 as its commit index reaches
   * the index of L2's no-op; then L2 rejoins. A correct L1 commits that index only together with
   * its own no-op, which then bars L2 from winning; one that commits entries of an old term by
   * counting replicas has committed what L2 will overwrite.
   */
  private figure8(leader: N | null): void {
    if (leader === null || this.leaderWatch !== null) return;
    const sim = this.sim;
    const l1 = leader;
    const electionUs = sim.params.electionTicks * sim.params.tickUs;
    this.choreographyUntilUs = sim.nowUs() + TRIGGER_TIMEOUT_US;
    const giveUp = (cutId: number): void => {
      if (sim.network.heal(cutId) !== undefined) this.trace(`figure 8: n${l1.id} rejoins`);
    };
    this.arm(l1, "figure 8: cut off the leader as it appends a client write", "beforeSend",
      (rd, n) => n.role === "leader" && rd.entries.some((e) => e.data.length > 0),
      () => {
        sim.network.healAll();
        const cut1 = this.isolate(l1.id, `figure 8: isolate n${l1.id}`);
        this.choreographyUntilUs = sim.nowUs() + TRIGGER_TIMEOUT_US;
        sim.after(TRIGGER_TIMEOUT_US, () => giveUp(cut1));
        this.leaderWatch = (l2) => {
          if (l2.id === l1.id) return false;
          const cut2 = this.isolate(l2.id, `figure 8: isolate n${l2.id}`);
          this.choreographyUntilUs = sim.nowUs() + TRIGGER_TIMEOUT_US + 8 * electionUs;
          this.trace(`figure 8: isolates new leader n${l2.id} as it wins; n${l1.id} rejoins`);
          sim.network.heal(cut1);
          // L1 holds the longest log; it campaigns at once so that the others, a majority on
          // their own in a 5-voter cluster, do not elect one of themselves first.
          // (It first has to learn that it was deposed; it tries every few milliseconds.)
          let attempts = 0;
          const campaign = (): void => {
            if (!l1.up || l1.paused || attempts++ >= FIGURE8_CAMPAIGN_ATTEMPTS) return;
            if (l1.role === "leader") {
              sim.after(5_000, campaign);
              return;
            }
            this.trace(`figure 8: n${l1.id} campaigns`);
            l1.campaign();
          };
          sim.after(this.rng.range(100, 5_000), campaign);
          const termAtRejoin = l2.term;
          const contested = l2.storage.written.lastIndex; // where L2's no-op sits
          const healL2 = (): void => {
            if (sim.network.heal(cut2) !== undefined) this.trace(`figure 8: n${l2.id} rejoins`);
          };
          this.arm(l1, `figure 8: power fails as the leader commits index ${contested}`, "beforeSend",
            (rd, n) => n.role === "leader" && n.term > termAtRejoin && rd.hardState !== null && rd.hardState.commit >= contested,
            (n) => {
              // It stays down long enough for L2 to outwait the others' leader stickiness.
              this.crashNow(n, 4 * electionUs, 8 * electionUs);
              sim.after(this.rng.range(1_000, 20_000), healL2);
            });
          sim.after(TRIGGER_TIMEOUT_US, healL2);
          return true;
        };
        sim.after(TRIGGER_TIMEOUT_US, () => {
          this.leaderWatch = null;
        });
      });
  }

  private pauseFor(node: N, minUs: number, maxUs: number, why: string): void {
    if (!node.up || node.paused) return;
    node.pause();
    const durationUs = this.rng.range(minUs, maxUs);
    this.trace(`pauses n${node.id} (${why}) for ${(durationUs / 1000).toFixed(0)}ms`);
    const incarnation = node.incarnation;
    this.sim.after(durationUs, () => {
      if (node.incarnation === incarnation && node.paused) {
        this.trace(`resumes n${node.id}`);
        node.resume();
      }
    });
  }

  private strike(action: NemesisAction): void {
    const sim = this.sim;
    const ids = this.liveIds();
    const leader = sim.currentLeader();
    const electionUs = sim.params.electionTicks * sim.params.tickUs;
    switch (action) {
      case "partition": {
        const order = this.shuffled(ids);
        const split = this.rng.range(1, Math.max(1, order.length - 1));
        const a = order.slice(0, split);
        const b = order.slice(split);
        this.cutFor(`partition {${a.join(",")}} | {${b.join(",")}}`, linksBetween(a, b), 30_000, 500_000);
        return;
      }
      case "isolate-leader":
      case "isolate-node": {
        const target = action === "isolate-leader" ? leader?.id : this.rng.pick(ids);
        if (target === undefined) return;
        this.cutFor(`isolate n${target}`, linksBetween([target], ids.filter((i) => i !== target)), 50_000, 500_000);
        return;
      }
      case "one-way": {
        const order = this.shuffled(ids);
        const split = this.rng.range(1, Math.max(1, order.length - 1));
        const a = order.slice(0, split);
        const b = order.slice(split);
        this.cutFor(`one-way cut {${a.join(",")}} -> {${b.join(",")}}`, linksFrom(a, b), 30_000, 400_000);
        return;
      }
      case "bridge": {
        if (ids.length < 3) return;
        const order = this.shuffled(ids);
        const bridge = order[0] as NodeId;
        const rest = order.slice(1);
        const half = Math.ceil(rest.length / 2);
        const a = rest.slice(0, half);
        const b = rest.slice(half);
        this.cutFor(`bridge {${a.join(",")}} -n${bridge}- {${b.join(",")}}`, linksBetween(a, b), 50_000, 500_000);
        return;
      }
      case "crash-node": {
        const n = this.randomUpNode();
        if (n !== null) this.crashFor(n, "random");
        return;
      }
      case "crash-leader":
        if (leader !== null) this.crashFor(leader, "leader");
        return;
      case "crash-leader-after-append":
        if (leader !== null) this.arm(leader, "crash right after sending new entries", "afterSend", (rd) => rd.entries.length > 0, (n) => this.crashNow(n));
        return;
      case "crash-after-send": {
        const n = this.randomUpNode();
        if (n !== null) this.arm(n, "crash right after sending what needed a durable write", "afterSend", (rd) => rd.mustSync, (x) => this.crashNow(x));
        return;
      }
      case "crash-mid-write": {
        const n = this.randomUpNode();
        if (n !== null) this.arm(n, "crash while a write is not yet synced", "midWrite", (rd) => rd.entries.length > 0, (x) => this.crashNow(x));
        return;
      }
      case "figure-8":
        this.figure8(leader);
        return;
      case "stop-node": {
        // SIGTERM, often of the leader while writes are in flight: they must answer unknown_outcome.
        const n = leader !== null && this.rng.chance(0.5) ? leader : this.randomUpNode();
        if (n === null || n.paused) return;
        const what = n.stop();
        const downUs = this.rng.range(5_000, 300_000);
        this.trace(`stops n${n.id} (SIGTERM; ${what}) for ${(downUs / 1000).toFixed(0)}ms`);
        const incarnation = n.incarnation;
        sim.after(downUs, () => {
          if (n.incarnation === incarnation && !n.up && !sim.isHealed) sim.startNode(n);
        });
        return;
      }
      case "disk-failure": {
        // The disk dies: the next sync fails, the core stops acknowledging; the operator restarts it.
        const n = this.randomUpNode();
        if (n === null) return;
        n.diskFailing = true;
        const downUs = this.rng.range(20_000, 300_000);
        this.trace(`fails the disk of n${n.id}; restart in ${(downUs / 1000).toFixed(0)}ms`);
        const incarnation = n.incarnation;
        sim.after(downUs, () => {
          if (n.incarnation !== incarnation || !n.up || sim.isHealed) return;
          n.crash();
          sim.startNode(n);
        });
        return;
      }
      case "pause-node": {
        const n = this.randomUpNode();
        if (n !== null) this.pauseFor(n, 20_000, 400_000, "random");
        return;
      }
      case "pause-leader":
        if (leader !== null) this.pauseFor(leader, electionUs, 4 * electionUs, "leader");
        return;
      case "pause-isolated-leader": {
        // A leader stops (a long GC pause) and is cut off from its peers, but not from clients;
        // the others elect a new leader. When it resumes it still believes it leads.
        if (leader === null) return;
        const others = ids.filter((i) => i !== leader.id);
        const pauseUs = this.rng.range(2 * electionUs, 6 * electionUs);
        this.cutFor(`isolate paused leader n${leader.id}`, linksBetween([leader.id], others), pauseUs + 20_000, pauseUs + 300_000);
        this.pauseFor(leader, pauseUs, pauseUs, "isolated leader");
        return;
      }
      case "storm": {
        const durationUs = this.rng.range(100_000, 500_000);
        sim.network.quality = sim.params.storm;
        this.trace(`network storm for ${(durationUs / 1000).toFixed(0)}ms`);
        sim.after(durationUs, () => {
          if (!sim.isHealed) sim.network.quality = sim.params.network;
        });
        return;
      }
      case "slow-disk": {
        const n = this.rng.pick(ids);
        const durationUs = this.rng.range(50_000, 300_000);
        this.trace(`slow disk on n${n} for ${(durationUs / 1000).toFixed(0)}ms`);
        sim.slowDisk(n, sim.nowUs() + durationUs);
        return;
      }
      case "conf-change":
        this.changeMembership(leader);
        return;
      case "transfer-leader": {
        const st = leader?.status() ?? null;
        if (leader === null || st === null) return;
        const candidates = st.confState.voters.filter((v) => v !== leader.id);
        if (candidates.length === 0) return;
        const to = this.rng.pick(candidates);
        const r = leader.transferLeadership(to);
        this.trace(`asks n${leader.id} to transfer leadership to n${to}: ${r}`);
        return;
      }
      case "campaign": {
        const n = this.randomUpNode();
        if (n === null || !n.up || n.paused) return;
        this.trace(`makes n${n.id} campaign`);
        n.campaign();
        return;
      }
    }
  }

  /** The operator's membership changes: add a learner, promote a learner, remove a member. */
  private changeMembership(leader: N | null): void {
    const st = leader?.status() ?? null;
    if (leader === null || st === null) return;
    const sim = this.sim;
    const { voters, learners } = st.confState;
    const members = new Set([...voters, ...learners]);
    const spare: NodeId[] = [];
    for (let i = 1; i <= sim.params.maxNodeId; i++) {
      const id = nodeId(i);
      if (!members.has(id) && sim.nodes.get(id)?.decommissioned !== true && !this.retiredIds.has(id)) spare.push(id);
    }
    const minVoters = 3;
    const choices: ("add" | "promote" | "remove-voter" | "remove-learner")[] = [];
    if (spare.length > 0) choices.push("add");
    if (learners.length > 0) choices.push("promote", "remove-learner");
    if (voters.length > minVoters) choices.push("remove-voter");
    if (choices.length === 0) return;
    const choice = this.rng.pick(choices);
    let change;
    if (choice === "add") {
      const id = this.rng.pick(spare);
      change = { type: "addLearner" as const, nodeId: id };
      sim.addNode(id, null);
    } else if (choice === "promote") {
      change = { type: "addVoter" as const, nodeId: this.rng.pick(learners) };
    } else if (choice === "remove-learner") {
      change = { type: "removeNode" as const, nodeId: this.rng.pick(learners) };
    } else {
      change = { type: "removeNode" as const, nodeId: this.rng.pick(voters) };
    }
    const r = leader.proposeConfChange(change);
    if (r === "ok" && change.type === "removeNode") this.retiredIds.add(change.nodeId);
    this.trace(`asks n${leader.id} to ${change.type} n${change.nodeId}: ${r}`);
    if (r === "ok") {
      // The operator submits the change a second time at once (a retry after a lost answer). The
      // core must refuse it while the first is pending (thesis §4.1); the conf-change-while-pending
      // mutant appends it. No random draw here, so schedules stay what they were without it.
      const again = leader.proposeConfChange(change);
      this.trace(`asks n${leader.id} again to ${change.type} n${change.nodeId}: ${again}`);
    }
  }
}
