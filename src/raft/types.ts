// The vocabulary of the Raft core: log entries, persistent state, messages between peers, and the
// Ready batch the shell carries out. Every other module that talks to Raft (storage, transport,
// server, simulator) codes against these types. Modelled on etcd-io/raft's raftpb.

/** A member of the Raft group. 0 is never a valid id (it means "none"). */
export type NodeId = number & { readonly __brand: "NodeId" };
/** Makes a NodeId from a positive integer. */
export function nodeId(n: number): NodeId {
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`Invalid node id ${n}: must be a positive integer`);
  return n as NodeId;
}
/** "No node": no vote cast, no known leader. */
export const NO_NODE = 0 as NodeId;

/** Raft term (election epoch). Plain number so arithmetic stays readable. */
export type Term = number;
/** Position in the replicated log, starting at 1. 0 means "before the first entry". */
export type LogIndex = number;

/**
 * "normal": application data (empty data = the leader's no-op of its term).
 * "config": data is an encoded ConfChange (see encodeConfChange in confchange.ts).
 */
export type EntryType = "normal" | "config";

export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export type ConfChangeType = "addVoter" | "addLearner" | "removeNode";
/** A single-server membership change (Raft thesis §4.1). */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** The membership in force. A node is in at most one of the two lists. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** What must be durable before any message of the same Ready is sent. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId; // NO_NODE when no vote was cast in this term
  readonly commit: LogIndex;
}

export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}
/** A state-machine snapshot at `meta.index`; `data` is opaque to Raft (the KV state). */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}
/** AppendEntries (§5.3). An empty `entries` is a probe. */
export interface AppendMessage extends MessageBase {
  readonly type: "append";
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}
/**
 * Reply to append or snapshot. On success `index` is the follower's last matching index. On reject,
 * `index` echoes the rejected prevIndex and `hintIndex`/`hintTerm` let the leader skip a whole
 * divergent term at once (fast backtracking, as in etcd-io/raft findConflictByTerm).
 */
export interface AppendResponseMessage extends MessageBase {
  readonly type: "appendResponse";
  readonly reject: boolean;
  readonly index: LogIndex;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}
/** Heartbeats carry commit (capped at the follower's match) and an optional ReadIndex context. */
export interface HeartbeatMessage extends MessageBase {
  readonly type: "heartbeat";
  readonly commit: LogIndex;
  readonly context: string;
}
export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: "heartbeatResponse";
  readonly context: string;
}
/** RequestVote (§5.2) and its pre-vote twin (thesis §9.6). `term` of a pre-vote is the term the candidate would use. */
export interface VoteMessage extends MessageBase {
  readonly type: "vote" | "preVote";
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
  /** Set when campaigning because of a leadership transfer: bypasses leader stickiness. */
  readonly transfer: boolean;
}
export interface VoteResponseMessage extends MessageBase {
  readonly type: "voteResponse" | "preVoteResponse";
  readonly reject: boolean;
}
/** InstallSnapshot (§7). */
export interface SnapshotMessage extends MessageBase {
  readonly type: "snapshot";
  readonly snapshot: Snapshot;
}
/** Leadership transfer: the target campaigns at once (thesis §3.10). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: "timeoutNow";
}
/** A follower forwards a ReadIndex request to the leader; the leader answers with the read index. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: "readIndex";
  readonly context: string;
}
export interface ReadIndexResponseMessage extends MessageBase {
  readonly type: "readIndexResponse";
  readonly context: string;
  readonly index: LogIndex;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;
export type MessageType = Message["type"];

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile state, reported when it changes (not persisted). */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/** A linearizable read is safe to serve once the state machine has applied `index`. */
export interface ReadState {
  readonly context: string;
  readonly index: LogIndex;
}

/**
 * One batch of work for the shell. Contract (etcd-io/raft): persist `snapshot`, `entries` and
 * `hardState` durably (fsync when `mustSync`) BEFORE sending `messages`; apply `committedEntries`
 * in order; then call advance(). Entries may overwrite a suffix of the stored log from
 * entries[0].index on.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly mustSync: boolean;
}

/** What a node was when it stopped, read back from durable storage at start. */
export interface RestoredState {
  readonly hardState: HardState;
  /** The latest durable snapshot, or null when the log starts at index 1. */
  readonly snapshot: Snapshot | null;
  /** Durable entries following the snapshot, in order, contiguous. */
  readonly entries: readonly Entry[];
  /** Membership at start when there is no snapshot and no config entry yet (bootstrap). */
  readonly bootstrap: ConfState | null;
}

/**
 * Deliberate bugs for proving that the simulator's checkers can fail (see `npm run sim -- --mutant`).
 * Never set outside the simulator.
 */
export type RaftMutant = "vote-ignores-log" | "commit-old-term" | "stale-read" | "conf-change-while-pending"
  | "conf-change-before-term-commit";
