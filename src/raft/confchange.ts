// Single-server membership changes (Raft thesis §4.1): encoding of config entries and the pure
// function that applies one change to a membership. A config entry carries both the change and the
// membership that results from it, so a node that receives the log without the bootstrap
// membership (a new member catching up from index 1) still learns the exact configuration.
import type { ConfChange, ConfChangeType, ConfState, NodeId } from "./types.js";
import { assert, RaftInvariantError } from "./assert.js";

const CONF_CHANGE_TYPES: readonly ConfChangeType[] = ["addVoter", "addLearner", "removeNode"];
/** Bytes a config entry may take at most; bounds decoding of untrusted input. */
export const MAX_CONF_CHANGE_BYTES = 1 << 20;

interface WireConfChange {
  readonly v: 1;
  readonly type: ConfChangeType;
  readonly nodeId: number;
  readonly voters?: readonly number[];
  readonly learners?: readonly number[];
}

/** The empty membership (no voters, no learners). */
export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

/** Encodes a ConfChange (and optionally the membership it results in) as the data of a "config" entry. */
export function encodeConfChange(cc: ConfChange, result?: ConfState): Uint8Array {
  const wire: WireConfChange = result === undefined
    ? { v: 1, type: cc.type, nodeId: cc.nodeId }
    : { v: 1, type: cc.type, nodeId: cc.nodeId, voters: [...result.voters], learners: [...result.learners] };
  return new TextEncoder().encode(JSON.stringify(wire));
}

function decodeWire(data: Uint8Array): WireConfChange {
  assert(data.length <= MAX_CONF_CHANGE_BYTES, `Cannot decode config change: ${data.length} bytes exceed ${MAX_CONF_CHANGE_BYTES}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new RaftInvariantError("Cannot decode config change: data is not valid JSON", { cause });
  }
  const w = parsed as Partial<WireConfChange> | null;
  assert(w !== null && typeof w === "object" && w.v === 1, "Cannot decode config change: unknown format version");
  assert(CONF_CHANGE_TYPES.includes(w.type as ConfChangeType), `Cannot decode config change: unknown type ${String(w.type)}`);
  assert(Number.isSafeInteger(w.nodeId) && (w.nodeId as number) > 0, "Cannot decode config change: invalid node id");
  return w as WireConfChange;
}

/** Decodes the ConfChange stored in a "config" entry's data. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const w = decodeWire(data);
  return { type: w.type, nodeId: w.nodeId as NodeId };
}

/** The membership recorded in a config entry, or null when the entry carries only the change. */
export function decodeConfChangeResult(data: Uint8Array): ConfState | null {
  const w = decodeWire(data);
  if (w.voters === undefined || w.learners === undefined) return null;
  return { voters: w.voters.map((n) => n as NodeId), learners: w.learners.map((n) => n as NodeId) };
}

/** The membership after applying `cc` to `conf` (thesis §4.1). Adding an existing member changes its kind. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== cc.nodeId);
  const learners = conf.learners.filter((id) => id !== cc.nodeId);
  if (cc.type === "addVoter") voters.push(cc.nodeId);
  if (cc.type === "addLearner") learners.push(cc.nodeId);
  return normalizeConfState({ voters, learners });
}

/** Sorts the member lists so that equal memberships compare equal. */
export function normalizeConfState(conf: ConfState): ConfState {
  return { voters: [...conf.voters].sort((a, b) => a - b), learners: [...conf.learners].sort((a, b) => a - b) };
}

/** True when both memberships hold the same voters and learners, in any order. */
export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  const x = normalizeConfState(a);
  const y = normalizeConfState(b);
  return x.voters.length === y.voters.length && x.learners.length === y.learners.length
    && x.voters.every((v, i) => v === y.voters[i]) && x.learners.every((v, i) => v === y.learners[i]);
}
