// What a simulated agent and the store nodes say to each other: the few store calls the failover
// agent makes (grant its node lease, keep it alive, register the node on it, read the active
// record). The controller on the leader needs no messages: it runs inside the leader's process.
import type { NodeId } from "../../raft/raft.js";

/** A store call of an agent. */
export type AgentOp =
  | { readonly kind: "grant"; readonly ttlMs: number }
  | { readonly kind: "keepAlive"; readonly leaseId: number }
  | { readonly kind: "putNode"; readonly leaseId: number }
  | { readonly kind: "readActive" }
  /** Give the role up (planned switchover), once the instance has stopped acting. */
  | { readonly kind: "release"; readonly token: number };

/** An agent's request to one store node. */
export interface AgentRequest {
  readonly agent: NodeId;
  /** The agent's life (a crashed agent's late replies are ignored). */
  readonly incarnation: number;
  readonly reqId: number;
  readonly op: AgentOp;
}

/** The holder named by the active record, as the agent sees it. */
export interface HolderView {
  readonly node: number;
  readonly leaseId: number;
  readonly token: number;
}

/** A store node's answer. */
export type AgentReply =
  | { readonly reqId: number; readonly ok: true; readonly kind: "grant"; readonly leaseId: number }
  | { readonly reqId: number; readonly ok: true; readonly kind: "keepAlive" | "putNode" | "release" }
  | { readonly reqId: number; readonly ok: true; readonly kind: "readActive"; readonly revision: number; readonly holder: HolderView | null }
  | { readonly reqId: number; readonly ok: false; readonly code: string; readonly leaderHint: NodeId };
