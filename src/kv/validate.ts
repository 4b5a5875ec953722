// Stateless checks of a request: key and value sizes, ranges, op counts, lease ids and TTLs. The
// server runs them before proposing; every replica runs them again when applying (deterministic).
import type { Command, KvError, RangeRequest, TxnOp, TxnRequest } from "./command.js";
import { kvError } from "./command.js";
import { inRange, isWellFormed, RANGE_END_ALL, utf8ByteLength } from "./keys.js";
import {
  MAX_EXPIRE_BATCH,
  MAX_KEY_BYTES,
  MAX_LEASE_TTL_MS,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
  MIN_LEASE_TTL_MS,
} from "./limits.js";
import type { KeyRange } from "./types.js";

function checkKeyText(key: string, what: string): KvError | undefined {
  // Fast path: 3 bytes per UTF-16 unit is the worst case, so short keys need no exact count.
  if (key.length * 3 > MAX_KEY_BYTES && utf8ByteLength(key) > MAX_KEY_BYTES) {
    return kvError("key_too_large", `Cannot accept ${what}: longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
  }
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) >= 0xd800) {
      if (!isWellFormed(key)) return kvError("invalid_key", `Cannot accept ${what}: it has a lone UTF-16 surrogate`);
      break;
    }
  }
  return undefined;
}

/** Checks a single key (non-empty, well-formed, at most MAX_KEY_BYTES). */
export function validateKey(key: string): KvError | undefined {
  if (typeof key !== "string" || key.length === 0) return kvError("empty_key", "Cannot accept an empty key");
  return checkKeyText(key, "key");
}

/** Checks a key range: a key alone must be non-empty; with rangeEnd, key may be "" (from the first key). */
export function validateRange(range: KeyRange): KvError | undefined {
  if (range.rangeEnd === undefined) return validateKey(range.key);
  if (typeof range.key !== "string") return kvError("empty_key", "Cannot accept a range without a key");
  const bad = checkKeyText(range.key, "range key") ?? checkKeyText(range.rangeEnd, "range end");
  if (bad) return bad;
  if (range.rangeEnd !== RANGE_END_ALL && range.rangeEnd <= range.key) {
    return kvError("invalid_range", `Cannot accept range [${range.key}, ${range.rangeEnd}): the end is not after the key`);
  }
  return undefined;
}

function isCount(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Checks a read request. */
export function validateRangeRequest(req: RangeRequest): KvError | undefined {
  const bad = validateRange(req);
  if (bad) return bad;
  if (req.limit !== undefined && !isCount(req.limit)) return kvError("invalid_limit", `Cannot accept limit ${req.limit}: must be a non-negative integer`);
  if (req.revision !== undefined && !isCount(req.revision)) {
    return kvError("invalid_revision", `Cannot accept revision ${req.revision}: must be a non-negative integer`);
  }
  return undefined;
}

function validateLeaseId(id: number, allowZero: boolean): KvError | undefined {
  if (!isCount(id) || (!allowZero && id === 0)) return kvError("invalid_lease_id", `Cannot accept lease id ${id}: must be a positive integer`);
  return undefined;
}

function validateOp(op: TxnOp): KvError | undefined {
  switch (op.type) {
    case "range":
      return validateRangeRequest(op);
    case "delete":
      return validateRange(op);
    case "put": {
      const bad = validateKey(op.key);
      if (bad) return bad;
      if (!(op.value instanceof Uint8Array)) return kvError("invalid_value", `Cannot put key ${op.key}: the value is not a Uint8Array`);
      if (op.value.length > MAX_VALUE_BYTES) {
        return kvError("value_too_large", `Cannot accept a value of ${op.value.length} bytes: the limit is ${MAX_VALUE_BYTES}`);
      }
      if (op.lease !== undefined) return validateLeaseId(op.lease, true);
      return undefined;
    }
  }
}

/** Each key may change at most once per revision: no two puts of a key, no put inside a deleted range. */
function checkBranchWrites(ops: readonly TxnOp[]): KvError | undefined {
  const puts = new Set<string>();
  const deletes: KeyRange[] = [];
  for (const op of ops) {
    if (op.type === "put") {
      if (puts.has(op.key)) return kvError("duplicate_key", `Cannot put key ${op.key} twice in one txn`);
      puts.add(op.key);
    } else if (op.type === "delete") {
      deletes.push(op);
    }
  }
  for (const d of deletes) {
    for (const key of puts) {
      if (inRange(d, key)) return kvError("duplicate_key", `Cannot put and delete key ${key} in one txn`);
    }
  }
  return undefined;
}

function validateTxn(txn: TxnRequest): KvError | undefined {
  if (txn.compares.length > MAX_TXN_OPS || txn.success.length > MAX_TXN_OPS || txn.failure.length > MAX_TXN_OPS) {
    return kvError("too_many_ops", `Cannot accept a txn with more than ${MAX_TXN_OPS} compares or ops per branch`);
  }
  for (const c of txn.compares) {
    const bad = validateKey(c.key);
    if (bad) return bad;
    if (c.target === "value") {
      if (!(c.value instanceof Uint8Array)) return kvError("invalid_value", `Cannot compare the value of ${c.key}: the operand is not a Uint8Array`);
      if (c.value.length > MAX_VALUE_BYTES) return kvError("value_too_large", `Cannot compare the value of ${c.key}: the operand is over ${MAX_VALUE_BYTES} bytes`);
    } else if (!isCount(c.value)) {
      return kvError("invalid_revision", `Cannot accept a ${c.target} compare on ${c.key}: the value must be a non-negative integer`);
    }
  }
  for (const branch of [txn.success, txn.failure]) {
    for (const op of branch) {
      const bad = validateOp(op);
      if (bad) return bad;
    }
    const bad = checkBranchWrites(branch);
    if (bad) return bad;
  }
  return undefined;
}

/** Checks a command without looking at the store's state; undefined when it is well-formed. */
export function validateCommand(cmd: Command): KvError | undefined {
  switch (cmd.type) {
    case "put":
    case "delete":
      return validateOp(cmd);
    case "txn":
      return validateTxn(cmd);
    case "leaseGrant": {
      const bad = validateLeaseId(cmd.id, true);
      if (bad) return bad;
      if (!isCount(cmd.ttlMs) || cmd.ttlMs < MIN_LEASE_TTL_MS || cmd.ttlMs > MAX_LEASE_TTL_MS) {
        return kvError("invalid_ttl", `Cannot grant a lease of ${cmd.ttlMs} ms: the TTL must be ${MIN_LEASE_TTL_MS}..${MAX_LEASE_TTL_MS} ms`);
      }
      return undefined;
    }
    case "leaseRevoke":
      return validateLeaseId(cmd.id, false);
    case "leaseExpire":
      if (cmd.ids.length > MAX_EXPIRE_BATCH) return kvError("too_many_ops", `Cannot expire more than ${MAX_EXPIRE_BATCH} leases in one command`);
      for (const id of cmd.ids) {
        const bad = validateLeaseId(id, false);
        if (bad) return bad;
      }
      return undefined;
    case "compact":
      if (!isCount(cmd.revision) || cmd.revision === 0) return kvError("invalid_revision", `Cannot compact at revision ${cmd.revision}: must be a positive integer`);
      return undefined;
  }
}
