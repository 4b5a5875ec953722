// The store's state machine: applies committed commands in log order and answers reads. Pure and
// deterministic: the same commands from the same state give the same results, events and snapshot
// bytes on every replica. Expected failures are returned as KvError; a broken invariant throws.
import type {
  Command,
  Compare,
  CommandResult,
  DeleteRequest,
  DeleteResult,
  KvError,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
} from "./command.js";
import { kvError } from "./command.js";
import { decodeCommand } from "./codec.js";
import { RANGE_END_ALL } from "./keys.js";
import { MAX_LEASES } from "./limits.js";
import type { HistoryPage } from "./mvcc.js";
import { EMPTY_VALUE, MvccIndex } from "./mvcc.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import type { KeyRange, KeyValue, LeaseId, Revision, WatchEvent } from "./types.js";
import { NO_LEASE } from "./types.js";
import { validateCommand, validateRangeRequest } from "./validate.js";

/** A change to the lease table, for the leader's LeaseClock (LeaseClock.observe). */
export type LeaseChange =
  | { readonly type: "granted"; readonly id: LeaseId; readonly ttlMs: number }
  | { readonly type: "removed"; readonly id: LeaseId };

/** What applying one entry produced. */
export interface ApplyOutput {
  readonly index: number;
  readonly result: CommandResult;
  /** Key changes, in order (all share `result.revision` when non-empty); hand them to WatcherRegistry.notify. */
  readonly events: readonly WatchEvent[];
  readonly leaseChanges: readonly LeaseChange[];
}

/** A lease as the replicated state knows it (the remaining time lives in the leader's LeaseClock). */
export interface LeaseInfo {
  readonly id: LeaseId;
  readonly ttlMs: number;
  /** Keys attached, sorted. */
  readonly keys: readonly string[];
}

interface LeaseEntry {
  readonly id: LeaseId;
  readonly ttlMs: number;
  readonly keys: Set<string>;
}

/** One revision being written: every change of one command shares `rev`. */
interface WriteBatch {
  readonly rev: Revision;
  readonly events: WatchEvent[];
}

const NO_EVENTS: readonly WatchEvent[] = [];
const NO_LEASE_CHANGES: readonly LeaseChange[] = [];
const ALL_KEYS: KeyRange = { key: "", rangeEnd: RANGE_END_ALL };

/** The store revision once `batch` is applied: it moves only if some key changed. */
function revisionAfter(batch: WriteBatch, current: Revision): Revision {
  return batch.events.length > 0 ? batch.rev : current;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function holds(c: Compare, kv: KeyValue | undefined): boolean {
  let cmp: number;
  if (c.target === "value") {
    if (kv === undefined) return false; // etcd: a value compare on a missing key fails
    cmp = compareBytes(kv.value, c.value);
  } else {
    cmp = (kv === undefined ? 0 : kv[c.target]) - c.value;
  }
  switch (c.op) {
    case "=":
      return cmp === 0;
    case "!=":
      return cmp !== 0;
    case "<":
      return cmp < 0;
    case ">":
      return cmp > 0;
  }
}

/** The KV state machine (etcd v3 model): MVCC index, leases, txns, compaction, snapshots. */
export class KvStore {
  private mvcc = new MvccIndex();
  private leaseTable = new Map<LeaseId, LeaseEntry>();
  private lastLeaseId: LeaseId = 0;
  private rev: Revision = 0;
  private applied = 0;

  /** Latest revision (0 before the first change). */
  get revision(): Revision {
    return this.rev;
  }
  /** Reads and watches below this revision get "compacted" (0 = never compacted). */
  get compactRevision(): Revision {
    return this.mvcc.compactRevision;
  }
  /** Raft index of the last applied entry. */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Applies Raft entry data (empty data = the leader's no-op) at log index `index`. */
  applyEntry(index: number, data: Uint8Array): ApplyOutput {
    if (data.length === 0) {
      this.advance(index);
      return { index, result: { ok: true, type: "noop", revision: this.rev }, events: NO_EVENTS, leaseChanges: NO_LEASE_CHANGES };
    }
    return this.apply(index, decodeCommand(data));
  }

  /** Applies a command committed at log index `index` (indexes must increase; gaps are other entry kinds). */
  apply(index: number, cmd: Command): ApplyOutput {
    this.advance(index);
    const bad = validateCommand(cmd);
    if (bad) return { index, result: bad, events: NO_EVENTS, leaseChanges: NO_LEASE_CHANGES };
    const batch: WriteBatch = { rev: this.rev + 1, events: [] };
    const leaseChanges: LeaseChange[] = [];
    const result = this.execute(cmd, batch, leaseChanges);
    if (batch.events.length > 0) this.rev = batch.rev;
    return { index, result, events: batch.events, leaseChanges };
  }

  private advance(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`Cannot apply entry ${index}: entries up to ${this.applied} are already applied`);
    }
    this.applied = index;
  }

  private execute(cmd: Command, batch: WriteBatch, leaseChanges: LeaseChange[]): CommandResult {
    switch (cmd.type) {
      case "put":
        return this.checkLease(cmd.lease) ?? this.put(cmd, batch);
      case "delete":
        return this.deleteRange(cmd, batch);
      case "txn":
        return this.txn(cmd, batch);
      case "leaseGrant":
        return this.grant(cmd.id, cmd.ttlMs, leaseChanges);
      case "leaseRevoke": {
        if (!this.leaseTable.has(cmd.id)) return kvError("lease_not_found", `Cannot revoke lease ${cmd.id}: not found`);
        const deleted = this.removeLease(cmd.id, batch, leaseChanges);
        return { ok: true, type: "leaseRevoke", revision: revisionAfter(batch, this.rev), deleted };
      }
      case "leaseExpire": {
        // Already revoked or expired ids are skipped: expiry happens exactly once however often it is committed.
        const ids = [...new Set(cmd.ids)].filter((id) => this.leaseTable.has(id)).sort((a, b) => a - b);
        const keys = ids.flatMap((id) => [...(this.leaseTable.get(id) as LeaseEntry).keys]).sort();
        for (const key of keys) this.remove(key, batch);
        for (const id of ids) this.removeLease(id, batch, leaseChanges);
        return { ok: true, type: "leaseExpire", revision: revisionAfter(batch, this.rev), expired: ids, deleted: keys.length };
      }
      case "compact": {
        if (cmd.revision > this.rev) {
          return kvError("future_revision", `Cannot compact at revision ${cmd.revision}: the latest is ${this.rev}`, { revision: this.rev });
        }
        if (cmd.revision <= this.mvcc.compactRevision) {
          return kvError("compacted", `Cannot compact at revision ${cmd.revision}: already compacted at ${this.mvcc.compactRevision}`, {
            compactRevision: this.mvcc.compactRevision,
          });
        }
        this.mvcc.compact(cmd.revision);
        return { ok: true, type: "compact", revision: this.rev, compactRevision: cmd.revision };
      }
    }
  }

  private checkLease(lease: LeaseId | undefined): KvError | undefined {
    if (lease === undefined || lease === NO_LEASE || this.leaseTable.has(lease)) return undefined;
    return kvError("lease_not_found", `Cannot attach to lease ${lease}: not found`);
  }

  private put(req: PutRequest, batch: WriteBatch): PutResult {
    const lease = req.lease ?? NO_LEASE;
    const event = this.mvcc.put(req.key, req.value, lease, batch.rev);
    batch.events.push(event);
    const prev = event.prevKv;
    if (prev && prev.lease !== NO_LEASE && prev.lease !== lease) this.leaseTable.get(prev.lease)?.keys.delete(req.key);
    if (lease !== NO_LEASE) (this.leaseTable.get(lease) as LeaseEntry).keys.add(req.key);
    return req.prevKv ? { ok: true, type: "put", revision: batch.rev, prevKv: prev } : { ok: true, type: "put", revision: batch.rev };
  }

  private remove(key: string, batch: WriteBatch): KeyValue {
    const event = this.mvcc.remove(key, batch.rev);
    batch.events.push(event);
    const prev = event.prevKv as KeyValue;
    if (prev.lease !== NO_LEASE) this.leaseTable.get(prev.lease)?.keys.delete(key);
    return prev;
  }

  private deleteRange(req: DeleteRequest, batch: WriteBatch): DeleteResult {
    const keys: string[] = [];
    this.mvcc.forEachInRange(req, undefined, (kv) => {
      keys.push(kv.key);
    });
    const prevKvs = keys.map((key) => this.remove(key, batch));
    const revision = revisionAfter(batch, this.rev);
    return req.prevKv
      ? { ok: true, type: "delete", revision, deleted: keys.length, prevKvs }
      : { ok: true, type: "delete", revision, deleted: keys.length };
  }

  private txn(req: TxnRequest, batch: WriteBatch): CommandResult {
    const succeeded = req.compares.every((c) => holds(c, this.mvcc.latest(c.key)));
    const ops = succeeded ? req.success : req.failure;
    // Check everything that depends on state before the first write, so a txn applies whole or not at all.
    for (const op of ops) {
      const bad = op.type === "put" ? this.checkLease(op.lease) : op.type === "range" ? this.checkReadRevision(op.revision) : undefined;
      if (bad) return bad;
    }
    const responses: TxnOpResult[] = ops.map((op: TxnOp): TxnOpResult => {
      switch (op.type) {
        case "range":
          return this.rangeUnchecked(op);
        case "put":
          return this.put(op, batch);
        case "delete":
          return this.deleteRange(op, batch);
      }
    });
    const revision = revisionAfter(batch, this.rev);
    return { ok: true, type: "txn", revision, succeeded, responses: responses.map((r) => ({ ...r, revision })) };
  }

  private grant(requested: LeaseId, ttlMs: number, leaseChanges: LeaseChange[]): CommandResult {
    if (this.leaseTable.size >= MAX_LEASES) return kvError("too_many_leases", `Cannot grant a lease: ${MAX_LEASES} are alive`);
    let id = requested;
    if (id === NO_LEASE) {
      id = this.lastLeaseId + 1;
      while (this.leaseTable.has(id)) id++;
    } else if (this.leaseTable.has(id)) {
      return kvError("lease_exists", `Cannot grant lease ${id}: it exists`);
    }
    this.lastLeaseId = Math.max(this.lastLeaseId, id);
    this.leaseTable.set(id, { id, ttlMs, keys: new Set() });
    leaseChanges.push({ type: "granted", id, ttlMs });
    return { ok: true, type: "leaseGrant", revision: this.rev, id, ttlMs };
  }

  /** Deletes the lease's keys (in key order, in `batch`) and the lease. */
  private removeLease(id: LeaseId, batch: WriteBatch, leaseChanges: LeaseChange[]): number {
    const entry = this.leaseTable.get(id) as LeaseEntry;
    const keys = [...entry.keys].sort();
    for (const key of keys) this.remove(key, batch);
    this.leaseTable.delete(id);
    leaseChanges.push({ type: "removed", id });
    return keys.length;
  }

  private checkReadRevision(revision: Revision | undefined): KvError | undefined {
    if (revision === undefined || revision === 0) return undefined;
    if (revision > this.rev) return kvError("future_revision", `Cannot read at revision ${revision}: the latest is ${this.rev}`, { revision: this.rev });
    if (revision < this.mvcc.compactRevision) {
      return kvError("compacted", `Cannot read at revision ${revision}: compacted up to ${this.mvcc.compactRevision}`, {
        compactRevision: this.mvcc.compactRevision,
      });
    }
    return undefined;
  }

  /** Reads a key, a range or a prefix, at the latest revision or at `req.revision`. */
  range(req: RangeRequest): RangeResult | KvError {
    return validateRangeRequest(req) ?? this.checkReadRevision(req.revision) ?? this.rangeUnchecked(req);
  }

  private rangeUnchecked(req: RangeRequest): RangeResult {
    const limit = req.limit ?? 0;
    const kvs: KeyValue[] = [];
    let count = 0;
    const rev = req.revision === undefined || req.revision === 0 ? undefined : req.revision;
    this.mvcc.forEachInRange(req, rev, (kv) => {
      count++;
      if (req.countOnly || (limit > 0 && kvs.length >= limit)) return;
      kvs.push(req.keysOnly ? { ...kv, value: EMPTY_VALUE } : kv);
    });
    return { ok: true, type: "range", revision: this.rev, kvs, count, more: count > kvs.length && !req.countOnly };
  }

  /**
   * Up to `limit` live keys in [from, end), latest versions, in key order. Unlike range() (whose
   * `count` covers the whole range, so it walks all of it) this stops at the limit: O(log n + limit).
   */
  page(from: string, end: string, limit: number): KeyValue[] {
    const kvs: KeyValue[] = [];
    this.mvcc.forEachInRange({ key: from, rangeEnd: end }, undefined, (kv) => kvs.push(kv) < limit);
    return kvs;
  }

  /** The live version of `key` (or undefined). */
  get(key: string): KeyValue | undefined {
    return this.mvcc.latest(key);
  }

  /** A lease and its attached keys, or undefined when it does not exist. */
  lease(id: LeaseId): LeaseInfo | undefined {
    const entry = this.leaseTable.get(id);
    return entry && { id, ttlMs: entry.ttlMs, keys: [...entry.keys].sort() };
  }

  /** Every live lease, by id (what LeaseClock.promote needs). */
  leases(): { id: LeaseId; ttlMs: number }[] {
    return [...this.leaseTable.values()].map((l) => ({ id: l.id, ttlMs: l.ttlMs })).sort((a, b) => a.id - b.id);
  }

  /**
   * Past changes for a watcher: those in `range` from `fromRevision` up to `untilRevision` (at most
   * the latest), a page at a time. "compacted" when fromRevision is below the compaction revision.
   */
  history(fromRevision: Revision, range: KeyRange | undefined, options: { untilRevision?: Revision; maxEvents: number; maxScanned: number }): HistoryPage | KvError {
    if (fromRevision < this.mvcc.compactRevision) {
      return kvError("compacted", `Cannot replay from revision ${fromRevision}: compacted up to ${this.mvcc.compactRevision}`, {
        compactRevision: this.mvcc.compactRevision,
      });
    }
    const until = Math.min(options.untilRevision ?? this.rev, this.rev);
    return this.mvcc.history(fromRevision, until, range, options.maxEvents, options.maxScanned);
  }

  /** The whole state as deterministic bytes (what Raft snapshots carry). */
  snapshot(): Uint8Array {
    const { base, log } = this.mvcc.exportParts();
    return encodeSnapshot({
      appliedIndex: this.applied,
      revision: this.rev,
      compactRevision: this.mvcc.compactRevision,
      lastLeaseId: this.lastLeaseId,
      leases: this.leases(),
      base,
      changes: log.map((e) => e.kv),
    });
  }

  /** Replaces the whole state with a snapshot's. Throws on malformed bytes, leaving the state as it was. */
  restore(bytes: Uint8Array): void {
    const parts = decodeSnapshot(bytes);
    const mvcc = new MvccIndex();
    mvcc.importParts(parts.compactRevision, parts.base, parts.changes);
    const leaseTable = new Map<LeaseId, LeaseEntry>();
    for (const l of parts.leases) leaseTable.set(l.id, { id: l.id, ttlMs: l.ttlMs, keys: new Set() });
    mvcc.forEachInRange(ALL_KEYS, undefined, (kv) => {
      if (kv.lease === NO_LEASE) return;
      const entry = leaseTable.get(kv.lease);
      if (!entry) throw new Error(`Cannot restore KV snapshot: key ${kv.key} is attached to missing lease ${kv.lease}`);
      entry.keys.add(kv.key);
    });
    this.mvcc = mvcc;
    this.leaseTable = leaseTable;
    this.lastLeaseId = parts.lastLeaseId;
    this.rev = parts.revision;
    this.applied = parts.appliedIndex;
  }
}
