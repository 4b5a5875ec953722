// Binary encoding of commands as Raft entry data. Deterministic (the same command always gives the
// same bytes) and compact: a format byte, a command tag, then varints and length-prefixed strings.
// Optional fields are written with a presence byte, so decode(encode(c)) equals c field for field.
import { ByteReader, ByteWriter, uvarintSize } from "./bytes.js";
import { utf8ByteLength } from "./keys.js";
import type { Command, Compare, CompareOp, TxnOp } from "./command.js";

/** First byte of every encoded command; bump when the layout changes. */
export const COMMAND_FORMAT_VERSION = 1;

const COMMAND_TAGS = ["put", "delete", "txn", "leaseGrant", "leaseRevoke", "leaseExpire", "compact"] as const;
const OP_TAGS = ["range", "put", "delete"] as const;
const COMPARE_TARGETS = ["value", "version", "createRevision", "modRevision", "lease"] as const;
const COMPARE_OPS: readonly CompareOp[] = ["=", "!=", "<", ">"];

function tagOf<T extends string>(tags: readonly T[], name: T): number {
  const i = tags.indexOf(name);
  if (i < 0) throw new Error(`Cannot encode ${name}: unknown tag`);
  return i;
}
function nameOf<T extends string>(tags: readonly T[], tag: number, what: string): T {
  const name = tags[tag];
  if (name === undefined) throw new Error(`Cannot decode ${what} tag ${tag}: unknown`);
  return name;
}

function writeOptBool(w: ByteWriter, v: boolean | undefined): void {
  w.u8(v === undefined ? 0 : v ? 2 : 1);
}
function readOptBool(r: ByteReader): boolean | undefined {
  const b = r.u8();
  return b === 0 ? undefined : b === 2;
}
function writeOptNum(w: ByteWriter, v: number | undefined): void {
  if (v === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    w.uvarint(v);
  }
}
function readOptNum(r: ByteReader): number | undefined {
  return r.u8() === 0 ? undefined : r.uvarint();
}
function writeOptStr(w: ByteWriter, v: string | undefined): void {
  if (v === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    w.string(v);
  }
}
function readOptStr(r: ByteReader): string | undefined {
  return r.u8() === 0 ? undefined : r.string();
}

function writeOp(w: ByteWriter, op: TxnOp): void {
  w.u8(tagOf(OP_TAGS, op.type));
  w.string(op.key);
  switch (op.type) {
    case "range":
      writeOptStr(w, op.rangeEnd);
      writeOptNum(w, op.limit);
      writeOptNum(w, op.revision);
      writeOptBool(w, op.keysOnly);
      writeOptBool(w, op.countOnly);
      return;
    case "put":
      w.bytes(op.value);
      writeOptNum(w, op.lease);
      writeOptBool(w, op.prevKv);
      return;
    case "delete":
      writeOptStr(w, op.rangeEnd);
      writeOptBool(w, op.prevKv);
      return;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// Optional fields are set only when present (no `undefined` keys, no `delete`, which would slow the objects down).
function readOp(r: ByteReader): TxnOp {
  const type = nameOf(OP_TAGS, r.u8(), "op");
  const key = r.string();
  switch (type) {
    case "range": {
      const op: Mutable<TxnOp & { type: "range" }> = { type, key };
      const rangeEnd = readOptStr(r);
      const limit = readOptNum(r);
      const revision = readOptNum(r);
      const keysOnly = readOptBool(r);
      const countOnly = readOptBool(r);
      if (rangeEnd !== undefined) op.rangeEnd = rangeEnd;
      if (limit !== undefined) op.limit = limit;
      if (revision !== undefined) op.revision = revision;
      if (keysOnly !== undefined) op.keysOnly = keysOnly;
      if (countOnly !== undefined) op.countOnly = countOnly;
      return op;
    }
    case "put": {
      const op: Mutable<TxnOp & { type: "put" }> = { type, key, value: r.bytes() };
      const lease = readOptNum(r);
      const prevKv = readOptBool(r);
      if (lease !== undefined) op.lease = lease;
      if (prevKv !== undefined) op.prevKv = prevKv;
      return op;
    }
    case "delete": {
      const op: Mutable<TxnOp & { type: "delete" }> = { type, key };
      const rangeEnd = readOptStr(r);
      const prevKv = readOptBool(r);
      if (rangeEnd !== undefined) op.rangeEnd = rangeEnd;
      if (prevKv !== undefined) op.prevKv = prevKv;
      return op;
    }
  }
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.string(c.key);
  w.u8(tagOf(COMPARE_TARGETS, c.target));
  w.u8(tagOf(COMPARE_OPS, c.op));
  if (c.target === "value") w.bytes(c.value);
  else w.uvarint(c.value);
}

function readCompare(r: ByteReader): Compare {
  const key = r.string();
  const target = nameOf(COMPARE_TARGETS, r.u8(), "compare target");
  const op = nameOf(COMPARE_OPS, r.u8(), "compare op");
  if (target === "value") return { key, target, op, value: r.bytes() };
  return { key, target, op, value: r.uvarint() };
}

function writeOps(w: ByteWriter, ops: readonly TxnOp[]): void {
  w.uvarint(ops.length);
  for (const op of ops) writeOp(w, op);
}
function readOps(r: ByteReader): TxnOp[] {
  const n = r.uvarint();
  const ops: TxnOp[] = [];
  for (let i = 0; i < n; i++) ops.push(readOp(r));
  return ops;
}

/** Exact encoded size of a put (puts dominate write loads: one allocation, no copy). */
function putSize(cmd: Command & { type: "put" }): number {
  const keyBytes = utf8ByteLength(cmd.key);
  const lease = cmd.lease === undefined ? 1 : 1 + uvarintSize(cmd.lease);
  return 3 + uvarintSize(keyBytes) + keyBytes + uvarintSize(cmd.value.length) + cmd.value.length + lease + 1;
}

/** Encodes a command as Raft entry data. */
export function encodeCommand(cmd: Command): Uint8Array {
  const w = new ByteWriter(cmd.type === "put" ? putSize(cmd) : 256);
  w.u8(COMMAND_FORMAT_VERSION);
  w.u8(tagOf(COMMAND_TAGS, cmd.type));
  switch (cmd.type) {
    case "put":
    case "delete":
      writeOp(w, cmd);
      break;
    case "txn":
      w.uvarint(cmd.compares.length);
      for (const c of cmd.compares) writeCompare(w, c);
      writeOps(w, cmd.success);
      writeOps(w, cmd.failure);
      break;
    case "leaseGrant":
      w.uvarint(cmd.id);
      w.uvarint(cmd.ttlMs);
      break;
    case "leaseRevoke":
      w.uvarint(cmd.id);
      break;
    case "leaseExpire":
      w.uvarint(cmd.ids.length);
      for (const id of cmd.ids) w.uvarint(id);
      break;
    case "compact":
      w.uvarint(cmd.revision);
      break;
  }
  return w.finish();
}

function readCommand(r: ByteReader): Command {
  const format = r.u8();
  if (format !== COMMAND_FORMAT_VERSION) throw new Error(`Cannot decode command: format ${format} is not ${COMMAND_FORMAT_VERSION}`);
  const type = nameOf(COMMAND_TAGS, r.u8(), "command");
  switch (type) {
    case "put":
    case "delete": {
      const op = readOp(r);
      if (op.type !== type) throw new Error(`Cannot decode ${type} command: it holds a ${op.type} op`);
      return op as Command;
    }
    case "txn": {
      const n = r.uvarint();
      const compares: Compare[] = [];
      for (let i = 0; i < n; i++) compares.push(readCompare(r));
      const success = readOps(r);
      const failure = readOps(r);
      return { type, compares, success, failure };
    }
    case "leaseGrant":
      return { type, id: r.uvarint(), ttlMs: r.uvarint() };
    case "leaseRevoke":
      return { type, id: r.uvarint() };
    case "leaseExpire": {
      const n = r.uvarint();
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push(r.uvarint());
      return { type, ids };
    }
    case "compact":
      return { type, revision: r.uvarint() };
  }
}

/** Decodes Raft entry data made by encodeCommand; throws on malformed bytes (corruption or a bug). */
export function decodeCommand(data: Uint8Array): Command {
  const r = new ByteReader(data);
  const cmd = readCommand(r);
  if (!r.done) throw new Error(`Cannot decode ${cmd.type} command: ${data.length} bytes hold trailing data`);
  return cmd;
}
