// Entry point of the KV store (the etcd v3 model state machine). Other modules import from here
// only; see README.md for the data model, the commands, the lease life and the watch guarantees.
export type { KeyRange, KeyValue, LeaseId, Revision, WatchEvent } from "./types.js";
export { NO_LEASE } from "./types.js";
export {
  MAX_EXPIRE_BATCH,
  MAX_KEY_BYTES,
  MAX_LEASE_TTL_MS,
  MAX_LEASES,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
  MIN_LEASE_TTL_MS,
} from "./limits.js";
export { RANGE_END_ALL, inRange, prefixEnd, prefixRange } from "./keys.js";
export type {
  Command,
  CommandResult,
  CommandType,
  Compare,
  CompareOp,
  CompactResult,
  DeleteRequest,
  DeleteResult,
  KvError,
  KvErrorCode,
  LeaseExpireResult,
  LeaseGrantResult,
  LeaseRevokeResult,
  NoopResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
} from "./command.js";
export { kvError } from "./command.js";
export { validateCommand, validateKey, validateRange, validateRangeRequest } from "./validate.js";
export { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from "./codec.js";
export type { HistoryPage } from "./mvcc.js";
export type { ApplyOutput, LeaseChange, LeaseInfo } from "./machine.js";
export { KvStore } from "./machine.js";
export { SNAPSHOT_FORMAT_VERSION } from "./snapshot.js";
export type { LeaseClockOptions, RenewResult } from "./lease-clock.js";
export { DEFAULT_LEASE_CLOCK_OPTIONS, LeaseClock } from "./lease-clock.js";
export type { WatchBatch, WatchCancelCode, WatchCreateResult, WatchRequest, WatchSource, WatcherRegistryOptions } from "./watch.js";
export { DEFAULT_WATCHER_OPTIONS, WatcherRegistry } from "./watch.js";
export type { AutoCompactionOptions } from "./compaction.js";
export { DEFAULT_AUTO_COMPACTION, DEFAULT_RETAIN_REVISIONS, autoCompactRevision } from "./compaction.js";
