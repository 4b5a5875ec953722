// A simulated machine of the failover simulator: a store node (the real node core in
// ../node-process.ts) on a clock that runs at its own rate, the failover agent with its instance and
// watchdog (agent.ts), and the controller that runs on whichever node leads: after a ReadIndex round
// (so only with a quorum) it reads the active record and the live nodes from its store and decides
// with the REAL promotion logic (src/failover/promotion.ts, flap-damping.ts), then proposes the
// acquire txn (src/failover/active-record.ts). A crash kills the whole machine; a pause (SIGSTOP)
// freezes the whole machine; the agent alone can be paused too (agent.ts).
import type { ConfState, NodeId } from "../../raft/raft.js";
import type { NodeTuning } from "../../node/node-core.js";
import { acquireCommand, activeKey, decodeActiveHolder, decodeSwitchover, releaseCommand, switchoverKey } from "../../failover/active-record.js";
import type { ActiveRecord } from "../../failover/active-record.js";
import { decidePromotion } from "../../failover/promotion.js";
import type { PromotionCandidate } from "../../failover/promotion.js";
import { NO_FLAPS, nextPromotionAllowedAtMs, recordPromotion } from "../../failover/flap-damping.js";
import type { FlapParams, FlapState } from "../../failover/flap-damping.js";
import { NodeProcess } from "../node-process.js";
import type { ProcessWorld } from "../node-process.js";
import { SimAgent, localMs } from "./agent.js";
import type { AgentWorld, MachineClock } from "./agent.js";
import type { AgentReply, AgentRequest } from "./protocol.js";

/** The one service whose active role the simulation fights over. */
export const SERVICE = "svc";
/** Prefix of the node registrations (SERVICES-LAYOUT.md). */
export const NODES_PREFIX = "/phalanx/nodes/";
/** The controller looks at the service every this many ticks of its node. */
const CONTROLLER_EVERY_TICKS = 1;

/** What a machine needs from the simulation. */
export interface FailoverNodeWorld extends ProcessWorld, AgentWorld {
  tuning(): NodeTuning;
  readonly flap: FlapParams;
  onRole(node: FailoverNode): void;
  /** The controller gave `to` the active role: tell its agent (a watch event on the active key). */
  notifyPromoted(from: NodeId, to: NodeId): void;
}

const encoder = new TextEncoder();

/** One simulated machine. */
export class FailoverNode extends NodeProcess {
  readonly agent: SimAgent;
  private flapState: FlapState = NO_FLAPS;
  private controllerBusy = false;
  private ticks = 0;

  constructor(id: NodeId, bootstrap: ConfState | null, readonly clock: MachineClock, private readonly fw: FailoverNodeWorld) {
    // The node core reads this machine's clock: the leader's lease expiry runs at its rate.
    const local: ProcessWorld = {
      rng: fw.rng,
      send: (m) => fw.send(m),
      nowUs: () => localMs(clock, fw.nowUs()) * 1000,
      later: (n, d, fn) => fw.later(n, d, fn),
      diskLatencyUs: (n) => fw.diskLatencyUs(n),
      raftRandomInt: (n) => fw.raftRandomInt(n),
      trace: (l) => fw.trace(l),
    };
    super(id, bootstrap, local, () => ({
      tuning: fw.tuning(),
      mutants: new Set(),
      observer: {
        onRoleChange: () => fw.onRole(this),
        onEntryApplied: (_e, out) => {
          for (const c of out.leaseChanges) if (c.type === "removed") fw.checker.leaseRemoved(c.id);
        },
      },
    }));
    this.agent = new SimAgent(id, clock, fw);
  }

  /** Starts the machine: the store node, then the agent. */
  start(): string | null {
    const why = this.startProcess();
    this.controllerBusy = false;
    this.flapState = NO_FLAPS;
    this.agent.boot();
    return why;
  }

  /** Power loss of the machine. */
  crash(): string {
    if (this.core === null) return "already down";
    this.agent.die();
    this.crashProcess();
    return "machine down";
  }

  /** SIGTERM of everything on the machine. */
  stop(): string {
    if (this.core === null) return "already down";
    this.agent.die();
    this.stopProcess();
    return "stopped";
  }

  /** SIGSTOP of the whole machine. */
  override pause(): void {
    super.pause();
    this.agent.freeze();
  }

  /** SIGCONT of the whole machine. */
  override resume(): void {
    super.resume();
    this.agent.thaw();
  }

  override tick(): void {
    super.tick();
    if (this.core !== null && !this.paused && ++this.ticks % CONTROLLER_EVERY_TICKS === 0) this.controllerStep();
  }

  /** An agent's store call arrives. */
  handleAgent(req: AgentRequest, reply: (r: AgentReply) => void): void {
    this.input(() => {
      const core = this.core;
      if (core === null) return;
      const refuse = (code: string, leaderId?: NodeId): void => reply({ reqId: req.reqId, ok: false, code, leaderHint: leaderId ?? (0 as NodeId) });
      const op = req.op;
      switch (op.kind) {
        case "grant":
          return core.propose({ type: "leaseGrant", id: 0, ttlMs: op.ttlMs }, (o) => {
            if (!o.ok) return refuse(o.code, o.leaderId);
            if (o.result.ok && o.result.type === "leaseGrant") reply({ reqId: req.reqId, ok: true, kind: "grant", leaseId: o.result.id });
            else refuse(o.result.ok ? "unexpected" : o.result.code);
          });
        case "putNode":
          return core.propose({ type: "put", key: `${NODES_PREFIX}${req.agent}`, value: encoder.encode(JSON.stringify({ id: req.agent })), lease: op.leaseId }, (o) => {
            if (!o.ok) return refuse(o.code, o.leaderId);
            if (o.result.ok) reply({ reqId: req.reqId, ok: true, kind: "putNode" });
            else refuse(o.result.code);
          });
        case "keepAlive":
          return core.keepAlive(op.leaseId, (o) => {
            if (o.ok) reply({ reqId: req.reqId, ok: true, kind: "keepAlive" });
            else refuse(o.code, o.leaderId);
          });
        case "release":
          return core.propose(releaseCommand(SERVICE, op.token), (o) => {
            if (!o.ok) return refuse(o.code, o.leaderId);
            reply({ reqId: req.reqId, ok: true, kind: "release" });
          });
        case "readActive":
          return core.readBarrier((err) => {
            if (err !== null) return refuse(err.code, err.leaderId);
            if (this.core !== core) return;
            const r = core.kv.range({ key: activeKey(SERVICE) });
            if (!r.ok) return refuse(r.code);
            const kv = r.kvs[0];
            const h = kv === undefined ? null : decodeActiveHolder(kv);
            // Mutant: the token is the key's version, which starts again at 1 with every holder.
            const token = h === null || kv === undefined ? 0 : this.fw.mutant === "token-does-not-grow" ? kv.version : h.token;
            reply({ reqId: req.reqId, ok: true, kind: "readActive", revision: r.revision, holder: h === null ? null : { node: h.record.node, leaseId: h.record.leaseId, token } });
          });
      }
    });
  }

  /** The leader's controller: one look at the service (one at a time). */
  private controllerStep(): void {
    const core = this.core;
    if (core === null || core.currentRole !== "leader" || this.controllerBusy) return;
    this.controllerBusy = true;
    core.readBarrier((err) => {
      if (this.core !== core) return;
      if (err !== null) {
        this.controllerBusy = false;
        return;
      }
      const nowMs = localMs(this.clock, this.fw.nowUs());
      const r = core.kv.range({ key: activeKey(SERVICE) });
      const kv = r.ok ? r.kvs[0] : undefined;
      const holder = kv === undefined ? null : decodeActiveHolder(kv);
      let holderNode = holder?.record.node ?? null;
      if (this.fw.mutant === "promotion-without-waiting-for-old-lease" && holder !== null) {
        // Mutant: a holder that missed keep-alives for half a TTL counts as gone.
        const left = core.leaseRemainingMs(holder.record.leaseId);
        if (left !== undefined && left < this.fw.fencing.leaseTtlMs / 2) holderNode = null;
      }
      const candidates: PromotionCandidate[] = [];
      for (const n of core.localPrefix(NODES_PREFIX)) {
        const node = Number(n.key.slice(NODES_PREFIX.length));
        if (node === holder?.record.node) continue;
        // The leader prefers another node: a takeover from a crashed leader waits for an election on
        // top of the lease (the new leader gives every lease a full TTL).
        candidates.push({ node, leaseId: n.lease, nodeAlive: true, healthy: true, preference: node === this.id ? 1000 + node : node });
      }
      const switchover = core.kv.range({ key: switchoverKey(SERVICE) });
      const preferredNode = decodeSwitchover(switchover.ok ? switchover.kvs[0] : undefined)?.to ?? null;
      const decision = decidePromotion({
        nowMs, hasQuorum: true, holderNode, candidates, preferredNode,
        promotionAllowedAtMs: nextPromotionAllowedAtMs(this.flapState, nowMs, this.fw.flap),
      });
      if (decision.kind !== "promote") {
        this.controllerBusy = false;
        return;
      }
      const record: ActiveRecord = { service: SERVICE, node: decision.candidate.node, leaseId: decision.candidate.leaseId, promotedAtMs: nowMs };
      this.fw.trace(`n${this.id} controller promotes n${record.node} (lease ${record.leaseId})`);
      const acquire = (): void => core.propose(acquireCommand(record), (o) => {
        if (this.core !== core) return;
        this.controllerBusy = false;
        if (!(o.ok && o.result.ok && o.result.type === "txn" && o.result.succeeded)) return;
        this.flapState = recordPromotion(this.flapState, nowMs, this.fw.flap);
        this.fw.notifyPromoted(this.id, record.node as NodeId);
      });
      if (holder === null) return acquire();
      // Mutant: remove the record of a holder whose lease may still live, then acquire.
      core.propose(releaseCommand(SERVICE, holder.token), (o) => {
        if (this.core !== core) return;
        if (o.ok && o.result.ok && o.result.type === "txn" && o.result.succeeded) acquire();
        else this.controllerBusy = false;
      });
    });
  }
}
