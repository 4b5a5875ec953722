// Who is in the cluster and how to reach them. Raft's configuration knows only ids; the addresses
// live in the store itself under MEMBER_PREFIX (so a node that joins learns every address from the
// log or a snapshot), merged over the members named in the node's config file (bootstrap).
import type { KeyValue } from "../kv/store.js";
import type { NodeId } from "../raft/raft.js";
import { nodeId } from "../raft/raft.js";

/** Reserved key prefix of member records; values are MemberRecord JSON. */
export const MEMBER_PREFIX = "/phalanx/members/";
/** Reserved prefix of cluster internals that clients may not read or write (the CA key lives here). */
export const INTERNAL_PREFIX = "/phalanx/cluster/";

/** How to reach one member. */
export interface MemberRecord {
  readonly id: NodeId;
  readonly name: string;
  /** host:port of the peer (Raft) transport. */
  readonly peerAddress: string;
  /** host:port of the client API. */
  readonly clientAddress: string;
}

/** The key of a member's record. */
export function memberKey(id: NodeId): string {
  return `${MEMBER_PREFIX}${String(id).padStart(10, "0")}`;
}

/** Parses a member record value; null when it is not one (logged by the caller). */
export function parseMemberRecord(kv: KeyValue): MemberRecord | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(kv.value)) as Partial<MemberRecord>;
    if (typeof v.id !== "number" || typeof v.peerAddress !== "string" || typeof v.clientAddress !== "string") return null;
    return { id: nodeId(v.id), name: typeof v.name === "string" ? v.name : `node-${v.id}`, peerAddress: v.peerAddress, clientAddress: v.clientAddress };
  } catch {
    return null;
  }
}

/** Encodes a member record as a value. */
export function encodeMemberRecord(m: MemberRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}

/** Bootstrap members merged with the records in the store; the store wins. */
export class MemberDirectory {
  private readonly bootstrap: Map<NodeId, MemberRecord>;
  private stored = new Map<NodeId, MemberRecord>();

  constructor(bootstrap: readonly MemberRecord[]) {
    this.bootstrap = new Map(bootstrap.map((m) => [m.id, m]));
  }

  /** Replaces the stored records (after an apply touched MEMBER_PREFIX, or a snapshot). */
  refresh(records: readonly KeyValue[]): void {
    const next = new Map<NodeId, MemberRecord>();
    for (const kv of records) {
      const m = parseMemberRecord(kv);
      if (m !== null) next.set(m.id, m);
    }
    this.stored = next;
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.stored.get(id) ?? this.bootstrap.get(id);
  }

  /** Every member known by address, stored records first. */
  all(): MemberRecord[] {
    const out = new Map(this.bootstrap);
    for (const [id, m] of this.stored) out.set(id, m);
    return [...out.values()].sort((a, b) => a.id - b.id);
  }

  /** True when the store holds a record for `id` (a bootstrap-only entry is not one). */
  isRecorded(id: NodeId): boolean {
    return this.stored.has(id);
  }

  /** Bootstrap members with no record in the store yet (the leader writes them). */
  unrecorded(): MemberRecord[] {
    return [...this.bootstrap.values()].filter((m) => !this.stored.has(m.id));
  }
}
