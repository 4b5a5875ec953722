// The store layout of services (/work/notes/SERVICES-LAYOUT.md, ARCHITECTURE.md "Services"): key
// names, record shapes and their JSON coding, shared by the admin routes, the leader's controller
// and each node's agent. The proxy reads the same keys (instances of exposed services).
import type { KeyValue } from "../../kv/store.js";
import type { InstanceState } from "../../agent/core/types.js";
import type { ServiceSpec } from "../../config/service.js";
import { ACTIVE_PREFIX, SWITCHOVER_PREFIX } from "../../failover/active-record.js";

export const SERVICES_PREFIX = "/phalanx/";
export const SPEC_PREFIX = "/phalanx/specs/";
export const NODE_PREFIX = "/phalanx/nodes/";
export const DRAIN_PREFIX = "/phalanx/drain/";
export const PLACEMENT_PREFIX = "/phalanx/placements/";
export const INSTANCE_PREFIX = "/phalanx/instances/";
export const EVENT_PREFIX = "/phalanx/events/";
export const ROLLOUT_PREFIX = "/phalanx/rollouts/";
/** Active-standby (issue 11): the role record (src/failover/active-record.ts), switchover requests, each node's fencing lease, per-service damping state. */
export { ACTIVE_PREFIX, SWITCHOVER_PREFIX };
export const FENCING_PREFIX = "/phalanx/fencing/";
export const FAILOVER_PREFIX = "/phalanx/failover/";

/** Every prefix of the services layout: only nodes write them (internal-keys.ts refuses clients). */
export const SERVICE_KEY_PREFIXES: readonly string[] = [SPEC_PREFIX, NODE_PREFIX, DRAIN_PREFIX, PLACEMENT_PREFIX, INSTANCE_PREFIX, EVENT_PREFIX, ROLLOUT_PREFIX,
  ACTIVE_PREFIX, SWITCHOVER_PREFIX, FENCING_PREFIX, FAILOVER_PREFIX];

/** Events kept in the store; the controller deletes the oldest beyond this. */
export const MAX_EVENTS = 1000;
/** Digits of an event's sequence number in its key (zero-padded so keys sort by sequence). */
export const EVENT_SEQ_DIGITS = 20;

export interface SpecRecord {
  readonly spec: ServiceSpec;
  readonly revision: string;
  readonly appliedAtMs: number;
}

export interface NodeRecord {
  readonly id: number;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Where this node's instances listen (the host of its client address). */
  readonly host: string;
  readonly clientAddress: string;
  readonly startedAtMs: number;
  readonly version: string;
  /** The cluster VIP this node may hold (node config `clusterVip.address`, canonical ADDRESS/PREFIX); absent when it has none (cluster-vip.ts). */
  readonly clusterVip?: string;
}

export interface DrainRecord {
  readonly sinceMs: number;
}

export interface PlacementRecord {
  readonly service: string;
  readonly instanceId: string;
  readonly revision: string;
}

export interface InstanceRecord {
  readonly service: string;
  readonly instanceId: string;
  readonly node: number;
  readonly host: string;
  readonly revision: string;
  readonly state: InstanceState;
  readonly healthy: boolean;
  readonly ports: Readonly<Record<string, number>>;
  readonly restarts: number;
  readonly startedAtMs: number | null;
  readonly message: string | null;
  /** Active-standby with `position`: the last reported position (larger = more caught-up); null when the command failed; absent before the first run. */
  readonly position?: number | null;
}

export type EventKind = "node" | "instance" | "rollout" | "service";

export interface EventRecord {
  readonly atMs: number;
  readonly kind: EventKind;
  readonly type: string;
  readonly node?: number;
  readonly service?: string;
  readonly instance?: string;
  readonly message: string;
}

export interface RolloutRecord {
  readonly haltedRevision: string | null;
  readonly previousRevision: string | null;
  /** The spec before the last change of revision: what `phalanx rollout undo` applies again. */
  readonly previousSpec?: ServiceSpec | null;
}

/** /phalanx/fencing/<node>: the node's fencing lease (active records hang on it), attached to that lease. */
export interface FencingLeaseRecord {
  readonly leaseId: number;
  readonly ttlMs: number;
}

/** /phalanx/failover/<service>: the promotions within the damping window (flap-damping.ts), written with each promotion. */
export interface FailoverStateRecord {
  readonly promotionsAtMs: readonly number[];
  readonly lastPromotion: { readonly node: number; readonly atMs: number; readonly reason: string } | null;
  /** The failover this promotion ends (alerts: a new leader resolves it once the active is healthy); absent for a first active. */
  readonly failoverId?: string;
  /** The failover whose completion was reported and recorded in the alert outbox: a later leader does not report it again. */
  readonly completedFailoverId?: string;
}

export const fencingKey = (node: number): string => `${FENCING_PREFIX}${node}`;
export const failoverStateKey = (service: string): string => `${FAILOVER_PREFIX}${service}`;
export const specKey = (service: string): string => `${SPEC_PREFIX}${service}`;
export const nodeKey = (node: number): string => `${NODE_PREFIX}${node}`;
export const drainKey = (node: number): string => `${DRAIN_PREFIX}${node}`;
export const placementKey = (node: number, instanceId: string): string => `${PLACEMENT_PREFIX}${node}/${instanceId}`;
export const instanceKey = (node: number, instanceId: string): string => `${INSTANCE_PREFIX}${node}/${instanceId}`;
export const rolloutKey = (service: string): string => `${ROLLOUT_PREFIX}${service}`;
export const eventKey = (seq: number): string => `${EVENT_PREFIX}${String(seq).padStart(EVENT_SEQ_DIGITS, "0")}`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON bytes of a record. */
export function encodeRecord(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** A record from a stored value; null when it is not JSON (a value from an older version is skipped, not fatal). */
export function decodeRecord<T>(kv: KeyValue): T | null {
  try {
    return JSON.parse(decoder.decode(kv.value)) as T;
  } catch {
    return null;
  }
}

/** The node id and last part of a key `<prefix><node>/<rest>`, or null. */
export function splitNodeKey(key: string, prefix: string): { node: number; rest: string } | null {
  const tail = key.slice(prefix.length);
  const slash = tail.indexOf("/");
  const node = Number(slash < 0 ? tail : tail.slice(0, slash));
  if (!Number.isInteger(node) || node <= 0) return null;
  return { node, rest: slash < 0 ? "" : tail.slice(slash + 1) };
}

/** The sequence number of an event key. */
export function eventSeq(key: string): number {
  return Number(key.slice(EVENT_PREFIX.length));
}
