// The cluster VIP (docs/cluster-vip.md): one address for the admin API, the balancer and the
// fronts, moved by the same machinery as a service's `vip:`. It is a ROLE-ONLY active-standby role:
// the record /phalanx/active/@cluster-vip on the holder's fencing lease, promoted by the leader's
// FailoverController with decidePromotion, followed on each node by an ActiveGuard with no process
// (cluster-vip-role.ts). Candidates are the live nodes that publish a cluster VIP in their node
// record (node config `clusterVip:`), not drained, with a fencing lease; only those that publish
// the address most of them publish, so a node whose config disagrees never takes the role.
import type { FlapParams } from "../../failover/flap-damping.js";
import type { PromotionCandidate } from "../../failover/promotion.js";
import { activeKey, decodeActiveHolder } from "../../failover/active-record.js";
import type { KeyValue } from "../../kv/store.js";
import type { ServicesView } from "./view.js";
import type { NodeRecord } from "./layout.js";

/** The role's name in /phalanx/active/, /phalanx/failover/ and metrics; `@` keeps it apart from every service name. */
export const CLUSTER_VIP_ROLE = "@cluster-vip";

/**
 * Flap damping of the cluster VIP, looser than a service's default (3 in 10 min, then 10 s doubling
 * to 5 min): a service that keeps failing is better held back, but a cluster VIP held back is the
 * whole cluster's address gone. Only live nodes with a fencing lease are candidates, so a crashing
 * node is not promoted while down; a rolling restart of 5 nodes moves it up to 5 times, drains and
 * restarts are counted as moves too. The pause still stops a ping-pong between two sick nodes.
 */
export const CLUSTER_VIP_FLAP_PARAMS: FlapParams = { windowMs: 600_000, threshold: 10, backoffBaseMs: 1_000, backoffMaxMs: 10_000 };

/** The key of the cluster VIP's active record. */
export const CLUSTER_VIP_KEY = activeKey(CLUSTER_VIP_ROLE);

/** Who may hold the cluster VIP, as the leader sees it. */
export interface ClusterVipCandidates {
  /** The address most live nodes publish (ties: the lowest node id's); null when no node publishes one. */
  readonly address: string | null;
  readonly candidates: readonly PromotionCandidate[];
  /** Live nodes publishing another address: never candidates (their config must be fixed). */
  readonly disagreeing: readonly { readonly node: number; readonly address: string }[];
}

/** The candidates for the cluster VIP among the live nodes of `v`; `leases`: node → fencing lease. */
export function clusterVipCandidates(v: ServicesView, leases: ReadonlyMap<number, number>, leaderId: number): ClusterVipCandidates {
  const published = [...v.nodes.entries()].filter(([, n]) => typeof n.value.clusterVip === "string").sort(([a], [b]) => a - b);
  const votes = new Map<string, number>();
  for (const [, n] of published) votes.set(n.value.clusterVip!, (votes.get(n.value.clusterVip!) ?? 0) + 1);
  let address: string | null = null;
  for (const [, n] of published) {
    const a = n.value.clusterVip!;
    if (address === null || votes.get(a)! > votes.get(address)!) address = a;
  }
  const candidates: PromotionCandidate[] = [];
  const disagreeing: { node: number; address: string }[] = [];
  for (const [node, n] of published) {
    if (n.value.clusterVip !== address) {
      disagreeing.push({ node, address: n.value.clusterVip! });
      continue;
    }
    const leaseId = leases.get(node);
    candidates.push({
      node, leaseId: leaseId ?? 0, nodeAlive: leaseId !== undefined && !v.drains.has(node),
      // Role-only: nothing to check but the node itself, whose liveness is its leases.
      healthy: true,
      // Off the Raft leader first, as for services: if that machine dies, a take-over would wait for an election too.
      preference: node === leaderId ? 1 : 0,
    });
  }
  return { address, candidates, disagreeing };
}

/** What `phalanx status` shows of the cluster VIP. */
export interface ClusterVipStatus {
  /** The address the holder (else this node) publishes; null when neither has one. */
  readonly address: string | null;
  /** The holding node; null while nobody holds the role. */
  readonly holder: number | null;
  readonly holderName: string | null;
  /** The holder's fencing token (the record's create revision). */
  readonly token: number | null;
}

/** The cluster VIP as this node's local store says (status route); `ownAddress`: this node's configured address. */
export function clusterVipStatus(record: KeyValue | undefined, nodeRecord: (node: number) => NodeRecord | undefined, ownAddress: string | null): ClusterVipStatus {
  const holder = record === undefined ? null : decodeActiveHolder(record);
  const node = holder === null ? undefined : nodeRecord(holder.record.node);
  return {
    address: node?.clusterVip ?? ownAddress,
    holder: holder?.record.node ?? null,
    holderName: node?.name ?? null,
    token: holder?.token ?? null,
  };
}
