// What simulated clients and nodes say to each other (client traffic does not go through Raft's
// message types: it is the store's client API, modelled minimally).
import type { LogIndex, NodeId, Term } from "../raft/types.js";
import type { RegisterInput, RegisterOutput } from "./linearizability/register-model.js";

/** A client's request to one node. `attempt` tells a retry of the same operation apart. */
export interface ClientRequest {
  readonly clientId: number;
  readonly opId: number;
  readonly attempt: number;
  readonly input: RegisterInput;
}

/** A node's answer: a result, a refusal that proves the operation did not happen, or an unknown outcome. */
export type ClientReply =
  | {
    readonly kind: "ok";
    readonly clientId: number;
    readonly opId: number;
    readonly attempt: number;
    readonly from: NodeId;
    readonly output: RegisterOutput;
    /** Where a write was applied (0 for reads). */
    readonly index: LogIndex;
    readonly term: Term;
  }
  | {
    /** A write that may or may not apply (stop, storage failure, deadline): never retried. */
    readonly kind: "unknown";
    readonly clientId: number;
    readonly opId: number;
    readonly attempt: number;
    readonly from: NodeId;
    readonly code: string;
  }
  | {
    readonly kind: "refused";
    readonly clientId: number;
    readonly opId: number;
    readonly attempt: number;
    readonly from: NodeId;
    readonly code: string;
    readonly leaderHint: NodeId;
  };
