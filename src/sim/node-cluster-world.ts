// The part of a simulated world that the KV and failover simulators share on top of ScheduleWorld:
// their NodeProcess machines on one simulated network, Raft messages sent over it (cut, lost,
// delayed or duplicated by the network's fate) and delivered to the machine if it is still up and
// reachable, and the rule that picks the current leader. Each step mixes into the schedule hash in
// the same order as before this was shared, so schedules replay unchanged.
import type { Message, NodeId } from "../raft/raft.js";
import { Network } from "./network.js";
import type { NodeProcess } from "./node-process.js";
import type { Rng } from "./rng.js";
import { ScheduleWorld } from "./schedule-world.js";

/** The agenda event that carries a Raft message to its receiver. */
export interface DeliverEvent {
  readonly kind: "deliver";
  readonly msg: Message;
}

/** Base of a simulation of `N` machines whose other agenda events are `X`. */
export abstract class NodeClusterWorld<N extends NodeProcess, X extends { readonly kind: string }> extends ScheduleWorld<N, DeliverEvent | X> {
  readonly network = new Network();
  readonly nodes = new Map<NodeId, N>();
  /** The schedule's randomness for the network and disks. */
  abstract readonly rng: Rng;

  /** The leader with the highest term among machines neither down nor paused, if any. */
  currentLeader(): N | null {
    let best: N | null = null;
    for (const n of this.nodes.values()) {
      const st = n.core?.status();
      if (st !== undefined && !n.paused && n.role === "leader" && (best === null || st.term > (best.core?.status().term ?? 0))) best = n;
    }
    return best;
  }

  send(msg: Message): void {
    this.mix(msg.from * 16 + msg.to, msg.term);
    if (this.network.isBlocked(msg.from, msg.to)) return;
    for (const d of this.network.fate(this.rng)) this.agenda.push(this.agenda.nowUs + d, { kind: "deliver", msg });
  }

  /** Hands a delivered message to its receiver unless the link was cut meanwhile or it is down. */
  protected deliver(msg: Message): void {
    if (this.network.isBlocked(msg.from, msg.to)) return;
    const node = this.nodes.get(msg.to);
    if (node === undefined || !node.up) return;
    this.mix(msg.to, msg.term);
    node.receive(msg);
  }
}
