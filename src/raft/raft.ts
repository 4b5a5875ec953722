// Entry point of the Raft core: create a node with createRaft() and import every type from here.
import type { RestoredState } from "./types.js";
import type { RaftConfig } from "./config.js";
import { Raft } from "./core.js";

export * from "./types.js";
export { Raft, MAX_COMMITTED_ENTRIES_PER_READY } from "./core.js";
export type {
  RaftConfig, ProposeResult, ConfChangeResult, ReadIndexResult, TransferResult, PeerStatus, RaftStatus,
} from "./config.js";
export type { ProgressState } from "./progress.js";
export {
  encodeConfChange, decodeConfChange, decodeConfChangeResult, applyConfChange, confStatesEqual, normalizeConfState,
  EMPTY_CONF_STATE,
} from "./confchange.js";
export { DEFAULT_MAX_UNCOMMITTED_BYTES } from "./config.js";
export { RaftInvariantError } from "./assert.js";
export { MAX_PENDING_READS } from "./readonly.js";

/** Creates a Raft node from its configuration and the state read back from durable storage. */
export function createRaft(config: RaftConfig, restored: RestoredState): Raft {
  return new Raft(config, restored);
}
