// The snapshot format of the whole store: applied index, revisions, lease table, the versions kept
// below the compaction revision and the change log. Deterministic: the same state gives the same
// bytes (keys in order, leases by id, changes in apply order).
import { ByteReader, ByteWriter } from "./bytes.js";
import { EMPTY_VALUE } from "./mvcc.js";
import type { KeyValue, LeaseId, Revision } from "./types.js";
import { NO_LEASE } from "./types.js";

const MAGIC = [0x50, 0x58, 0x4b, 0x56]; // "PXKV"
/** Version of the snapshot layout; bump when it changes. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/** Everything a snapshot holds, as plain data. */
export interface SnapshotParts {
  readonly appliedIndex: number;
  readonly revision: Revision;
  readonly compactRevision: Revision;
  readonly lastLeaseId: LeaseId;
  readonly leases: readonly { readonly id: LeaseId; readonly ttlMs: number }[];
  /** Live versions below compactRevision, in key order. */
  readonly base: readonly KeyValue[];
  /** Every change at or after compactRevision, in apply order (tombstones for deletes). */
  readonly changes: readonly KeyValue[];
}

function writeKv(w: ByteWriter, kv: KeyValue): void {
  w.string(kv.key);
  w.uvarint(kv.modRevision);
  w.uvarint(kv.version);
  if (kv.version === 0) return; // tombstone: nothing else to say
  w.bytes(kv.value);
  w.uvarint(kv.createRevision);
  w.uvarint(kv.lease);
}

function readKv(r: ByteReader): KeyValue {
  const key = r.string();
  const modRevision = r.uvarint();
  const version = r.uvarint();
  if (version === 0) return { key, value: EMPTY_VALUE, createRevision: 0, modRevision, version, lease: NO_LEASE };
  const value = r.bytes();
  const createRevision = r.uvarint();
  const lease = r.uvarint();
  return { key, value, createRevision, modRevision, version, lease };
}

/** Encodes the parts of a store. */
export function encodeSnapshot(parts: SnapshotParts): Uint8Array {
  const w = new ByteWriter(64 * 1024);
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_FORMAT_VERSION);
  w.uvarint(parts.appliedIndex);
  w.uvarint(parts.revision);
  w.uvarint(parts.compactRevision);
  w.uvarint(parts.lastLeaseId);
  w.uvarint(parts.leases.length);
  for (const l of parts.leases) {
    w.uvarint(l.id);
    w.uvarint(l.ttlMs);
  }
  w.uvarint(parts.base.length);
  for (const kv of parts.base) writeKv(w, kv);
  w.uvarint(parts.changes.length);
  for (const kv of parts.changes) writeKv(w, kv);
  return w.finish();
}

/** Decodes what encodeSnapshot wrote; throws on malformed bytes. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotParts {
  const r = new ByteReader(bytes);
  for (const b of MAGIC) {
    if (r.u8() !== b) throw new Error("Cannot restore KV snapshot: the bytes do not start with PXKV");
  }
  const format = r.u8();
  if (format !== SNAPSHOT_FORMAT_VERSION) throw new Error(`Cannot restore KV snapshot: format ${format} is not ${SNAPSHOT_FORMAT_VERSION}`);
  const appliedIndex = r.uvarint();
  const revision = r.uvarint();
  const compactRevision = r.uvarint();
  const lastLeaseId = r.uvarint();
  const leases: { id: LeaseId; ttlMs: number }[] = [];
  for (let n = r.uvarint(); n > 0; n--) leases.push({ id: r.uvarint(), ttlMs: r.uvarint() });
  const base: KeyValue[] = [];
  for (let n = r.uvarint(); n > 0; n--) base.push(readKv(r));
  const changes: KeyValue[] = [];
  for (let n = r.uvarint(); n > 0; n--) changes.push(readKv(r));
  if (!r.done) throw new Error("Cannot restore KV snapshot: trailing bytes after the change log");
  return { appliedIndex, revision, compactRevision, lastLeaseId, leases, base, changes };
}
