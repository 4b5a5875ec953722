// Which keys of the store a client of the API may touch. The node itself writes these keys through
// the replica, never through the API, so the rules hold for every caller, the admin token included.
//   hidden    (/phalanx/cluster/: the CA certificate and private key) — no read, no write, no
//             compare, no watch, never in a snapshot download. A request naming such a key, or a
//             range that overlaps the prefix, is refused; a watch on a wider range is filtered.
//   read-only (/phalanx/members/: member addresses, also served by GET /v3/phalanx/members) —
//             readable and watchable; writes (put, delete, lease revoke) are refused, since a
//             forged record would point peers at the wrong address. Likewise the services layout
//             (services/layout.ts: specs, nodes, drain, placements, instances, events, rollouts),
//             written by the admin routes, the leader's controller and the agents.
// Every other key under /phalanx/ (e.g. /phalanx/proxy/) is ordinary data that operators write.
import type { Command, KeyValue, TxnOp, WatchEvent } from "../kv/store.js";
import { RANGE_END_ALL, prefixEnd } from "../kv/store.js";
import { decodeSnapshot, encodeSnapshot } from "../kv/snapshot.js";
import { PermissionDeniedError } from "./access.js";
import { INTERNAL_PREFIX, MEMBER_PREFIX } from "./members.js";
import { SERVICE_KEY_PREFIXES } from "./services/layout.js";

/** Prefixes no client may read or write. */
export const HIDDEN_PREFIXES: readonly string[] = [INTERNAL_PREFIX];
/** Prefixes clients may read but not write. */
export const READ_ONLY_PREFIXES: readonly string[] = [MEMBER_PREFIX, ...SERVICE_KEY_PREFIXES];

/** A key (rangeEnd undefined) or a range [key, rangeEnd), rangeEnd "\0" meaning "to the end". */
interface Span {
  readonly key: string;
  readonly rangeEnd?: string | undefined;
}

/** True when `span` selects at least one key that starts with `prefix`. */
export function overlapsPrefix(span: Span, prefix: string): boolean {
  if (span.rangeEnd === undefined) return span.key.startsWith(prefix);
  const end = prefixEnd(prefix);
  const beforeEnd = span.key < end;
  const afterStart = span.rangeEnd === RANGE_END_ALL || span.rangeEnd > prefix;
  return beforeEnd && afterStart;
}

/** True when every key `span` selects starts with `prefix` (a watch on internal keys only). */
function insidePrefix(span: Span, prefix: string): boolean {
  if (span.rangeEnd === undefined) return span.key.startsWith(prefix);
  return span.key >= prefix && span.rangeEnd !== RANGE_END_ALL && span.rangeEnd <= prefixEnd(prefix);
}

/** True for a key a client may never see. */
export function isHiddenKey(key: string): boolean {
  return HIDDEN_PREFIXES.some((p) => key.startsWith(p));
}

function describe(span: Span): string {
  if (span.rangeEnd === undefined) return `key ${JSON.stringify(span.key)}`;
  return `range [${JSON.stringify(span.key)}, ${span.rangeEnd === RANGE_END_ALL ? "end" : JSON.stringify(span.rangeEnd)})`;
}

/** Refuses a read (range, compare) that would see a hidden key. */
export function guardRead(span: Span): void {
  for (const p of HIDDEN_PREFIXES) {
    if (overlapsPrefix(span, p)) {
      const fix = span.rangeEnd === undefined ? "choose another key" : `end the range before ${JSON.stringify(p)} or start it at ${JSON.stringify(prefixEnd(p))}`;
      throw new PermissionDeniedError(`Cannot read ${describe(span)}: keys under ${p} are internal to the cluster; ${fix}`);
    }
  }
}

/** Refuses a write (put, delete) that would change a hidden or read-only key. */
export function guardWrite(span: Span): void {
  for (const p of [...HIDDEN_PREFIXES, ...READ_ONLY_PREFIXES]) {
    if (overlapsPrefix(span, p)) {
      const fix = span.rangeEnd === undefined ? "choose another key" : `end the range before ${JSON.stringify(p)} or start it at ${JSON.stringify(prefixEnd(p))}`;
      throw new PermissionDeniedError(`Cannot write ${describe(span)}: keys under ${p} are maintained by the cluster itself; ${fix}`);
    }
  }
}

function guardTxnOp(op: TxnOp): void {
  if (op.type === "range") guardRead(op);
  else if (op.type === "put") guardWrite({ key: op.key });
  else guardWrite(op);
}

/** Refuses a command that reads or writes keys it may not (every part of a txn is checked). */
export function guardCommand(c: Command): void {
  switch (c.type) {
    case "put":
      return guardWrite({ key: c.key });
    case "delete":
      return guardWrite(c);
    case "txn":
      for (const cmp of c.compares) guardRead({ key: cmp.key });
      for (const op of c.success) guardTxnOp(op);
      for (const op of c.failure) guardTxnOp(op);
      return;
    default:
      return;
  }
}

/**
 * How a watch on `span` treats internal keys: "refuse" when it names only hidden keys, "filter"
 * when it is wider and overlaps them (its events under hidden prefixes are dropped), "none" else.
 */
export function watchPolicy(span: Span): "refuse" | "filter" | "none" {
  let policy: "filter" | "none" = "none";
  for (const p of HIDDEN_PREFIXES) {
    if (insidePrefix(span, p)) return "refuse";
    if (overlapsPrefix(span, p)) policy = "filter";
  }
  return policy;
}

/** The message of a refused watch. */
export function watchRefusal(span: Span): PermissionDeniedError {
  return new PermissionDeniedError(`Cannot watch ${describe(span)}: keys under ${HIDDEN_PREFIXES.join(", ")} are internal to the cluster; watch another key`);
}

/** Events a client may see. */
export function visibleEvents(events: readonly WatchEvent[]): WatchEvent[] {
  return events.filter((e) => !isHiddenKey(e.kv.key));
}

/** Keys of a lease a client may see. */
export function visibleKeys(keys: readonly string[]): string[] {
  return keys.filter((k) => !isHiddenKey(k));
}

/** Refuses revoking lease `id` when it holds keys clients may not delete (revoking deletes them). */
export function guardLeaseRevoke(id: number, keys: readonly string[]): void {
  const protectedPrefixes = [...HIDDEN_PREFIXES, ...READ_ONLY_PREFIXES];
  if (keys.some((k) => protectedPrefixes.some((p) => k.startsWith(p)))) {
    throw new PermissionDeniedError(`Cannot revoke lease ${id}: it holds keys maintained by the cluster itself; revoke a lease of your own`);
  }
}

/**
 * A store snapshot without any hidden key, in every version it holds (the live ones and the change
 * log): what an operator downloads. It restores into a store that lacks the CA; a cluster restored
 * from it gets the CA back from its nodes' pki directories (ca.key), which operators keep.
 */
export function exportableSnapshot(snapshot: Uint8Array): Uint8Array {
  const parts = decodeSnapshot(snapshot);
  const keep = (kv: KeyValue): boolean => !isHiddenKey(kv.key);
  return encodeSnapshot({ ...parts, base: parts.base.filter(keep), changes: parts.changes.filter(keep) });
}
