// Configuration of one Raft node and the results its proposal methods return.
import type { ConfState, LogIndex, NodeId, RaftMutant, Role, Term } from "./types.js";
import type { ProgressState } from "./progress.js";
import { assert } from "./assert.js";

/** Settings of one Raft node. Times are in ticks; the shell decides how long a tick is. */
export interface RaftConfig {
  readonly id: NodeId;
  /** Base election timeout; the actual one is drawn from [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  /** A leader sends heartbeats every heartbeatTicks. */
  readonly heartbeatTicks: number;
  /** Most entries in one append message. */
  readonly maxEntriesPerAppend: number;
  /** Most entry bytes in one append message (one entry is always allowed). */
  readonly maxBytesPerAppend: number;
  /** Most unacknowledged append messages pipelined to one follower (etcd Inflights). */
  readonly maxInflightAppends: number;
  /** Most entries a leader holds uncommitted; beyond it propose() answers "overloaded". */
  readonly maxUncommittedEntries: number;
  /**
   * Most payload bytes of the proposals a leader appended in its term and has not yet committed
   * (etcd's MaxUncommittedEntriesSize); a proposal that would pass it answers "overloaded". An
   * empty entry, and any one proposal while nothing is uncommitted, are always admitted, so a
   * large entry cannot be refused forever. 0 means no limit; absent means
   * DEFAULT_MAX_UNCOMMITTED_BYTES.
   */
  readonly maxUncommittedBytes?: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Seeded randomness for election timeouts: returns an integer in 0..n-1. */
  readonly randomInt: (n: number) => number;
  /** Deliberate bugs, for the simulator only. */
  readonly mutants?: ReadonlySet<RaftMutant>;
}

/**
 * Default bound on a leader's uncommitted payload bytes: 64 MiB. Far above what a healthy leader
 * holds (a few in-flight batches), far below what would strain memory on the leader and on every
 * follower holding the same tail (etcd's raft reads 0 as no limit; its raftexample sets 1 GiB).
 * maxUncommittedEntries alone would let the server's 50,000 entries of up to 1.5 MiB reach 75 GB.
 */
export const DEFAULT_MAX_UNCOMMITTED_BYTES = 64 * 1024 * 1024;

/** Throws when `config` is inconsistent. */
export function validateConfig(config: RaftConfig): void {
  const positive = (name: string, v: number): void =>
    assert(Number.isSafeInteger(v) && v > 0, `Cannot create Raft node ${config.id}: ${name} ${v} must be a positive integer`);
  positive("id", config.id);
  positive("electionTicks", config.electionTicks);
  positive("heartbeatTicks", config.heartbeatTicks);
  positive("maxEntriesPerAppend", config.maxEntriesPerAppend);
  positive("maxBytesPerAppend", config.maxBytesPerAppend);
  positive("maxInflightAppends", config.maxInflightAppends);
  positive("maxUncommittedEntries", config.maxUncommittedEntries);
  const maxBytes = config.maxUncommittedBytes;
  assert(maxBytes === undefined || (Number.isSafeInteger(maxBytes) && maxBytes >= 0),
    `Cannot create Raft node ${config.id}: maxUncommittedBytes ${String(maxBytes)} must be a non-negative integer (0 for no limit)`);
  assert(config.heartbeatTicks < config.electionTicks,
    `Cannot create Raft node ${config.id}: heartbeatTicks ${config.heartbeatTicks} must be below electionTicks ${config.electionTicks}`);
}

/** Result of propose(). */
export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | { readonly ok: false; readonly code: "not_leader"; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly code: "transfer_in_progress" | "overloaded" };

/**
 * Result of proposeConfChange(). "config_change_pending" also covers a new leader that has not yet
 * committed an entry of its term (retry shortly); "invalid_conf_change" is a change that would
 * leave no voter.
 */
export type ConfChangeResult =
  | ProposeResult
  | { readonly ok: false; readonly code: "config_change_pending" | "invalid_conf_change" };

/** Result of readIndex(); the read state itself arrives later in a Ready. */
export type ReadIndexResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: "not_leader"; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly code: "overloaded" };

/** Result of transferLeadership(). */
export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: "not_leader"; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly code: "not_a_voter" };

/** What the leader knows about one peer. */
export interface PeerStatus {
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
}

/** A snapshot of a node's state for the shell, tests and checkers. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly leader: NodeId;
  readonly role: Role;
  readonly lastIndex: LogIndex;
  readonly firstIndex: LogIndex;
  /** Membership in force (the latest config entry in the log, committed or not). */
  readonly confState: ConfState;
  /** Present on a leader only. */
  readonly progress?: ReadonlyMap<NodeId, PeerStatus>;
  /** Leader: payload bytes of the proposals it appended in its term and has not committed; else 0. */
  readonly uncommittedBytes: number;
  /** Index of the latest config entry while it is uncommitted, else 0. */
  readonly pendingConfIndex: LogIndex;
  /** Target of a leadership transfer in progress, else NO_NODE. */
  readonly leadTransferee: NodeId;
  /** Last index durable locally. */
  readonly persistedIndex: LogIndex;
}
