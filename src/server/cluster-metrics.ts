// The cluster's metrics as one node sees them, beside its store metrics (node-metrics.ts) in the same
// registry: members up/down (this node's peer links), instances by service and state, restarts,
// active holders and fencing tokens, all read from the local store at scrape time; and, counted on
// the leader that ran them, failovers with a duration histogram and the fencing tokens it issued.
// Every node reports the store's view, so dashboards aggregate with max() or pick the leader's
// series (phalanx_server_is_leader == 1); the failover counters exist only on leaders.
import { Counter, Gauge, Histogram } from "prom-client";
import type { Registry } from "prom-client";
import type { KeyValue } from "../kv/store.js";
import { decodeActiveHolder } from "../failover/active-record.js";
import type { ServicesView } from "./services/view.js";
import type { NodeSkew } from "./clock-skew.js";

/** Failover durations from a hot standby taking over (50 ms) to a stuck one (2 min). */
export const FAILOVER_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

/** What the collector reads at scrape time. */
export interface ClusterMetricsSource {
  /** Every Raft member (voters and learners) and whether this node reaches it (itself: true). */
  members(): readonly { readonly id: number; readonly up: boolean }[];
  /** The services keys of the local store. */
  services(): ServicesView;
  /** The active records (/phalanx/active/...) of the local store. */
  actives(): readonly KeyValue[];
  /** Clock skews to the leader this node knows (clock-skew.ts): all members on the leader, itself on a follower. */
  clockSkews(): readonly NodeSkew[];
}

/** Registers the cluster series in `registry`; failoverEnded/promoted are called by the leader's FailoverController. */
export class ClusterMetrics {
  private readonly failovers: Counter<"outcome">;
  private readonly failoverSeconds: Histogram;
  private readonly tokensIssued: Counter;

  constructor(registry: Registry, source: ClusterMetricsSource) {
    const registers = [registry];
    new Gauge({
      name: "phalanx_cluster_members", help: "Raft members (voters and learners) this node reaches (state=up, itself included) or not (state=down)", labelNames: ["state"], registers,
      collect() {
        const m = source.members();
        this.set({ state: "up" }, m.filter((x) => x.up).length);
        this.set({ state: "down" }, m.filter((x) => !x.up).length);
      },
    });
    new Gauge({
      name: "phalanx_service_instances", help: "Instances reported in the store, by service and state", labelNames: ["service", "state"], registers,
      collect() {
        this.reset();
        for (const i of source.services().instances.values()) this.inc({ service: i.value.service, state: i.value.state });
      },
    });
    new Gauge({
      name: "phalanx_service_instances_healthy", help: "Instances passing their health checks, by service", labelNames: ["service"], registers,
      collect() {
        this.reset();
        const v = source.services();
        for (const name of v.specs.keys()) this.set({ service: name }, 0);
        for (const i of v.instances.values()) if (i.value.healthy) this.inc({ service: i.value.service });
      },
    });
    // A gauge, not a counter: it is the sum over the instances that exist now, so it drops when one is replaced.
    new Gauge({
      name: "phalanx_service_instance_restarts", help: "Restarts of the current instances (as their agents report them), by service", labelNames: ["service"], registers,
      collect() {
        this.reset();
        for (const i of source.services().instances.values()) this.inc({ service: i.value.service }, i.value.restarts);
      },
    });
    new Gauge({
      name: "phalanx_service_fencing_token", help: "Fencing token of the service's active (the store revision that created its record); absent without an active", labelNames: ["service", "node"], registers,
      collect() {
        this.reset();
        for (const kv of source.actives()) {
          const h = decodeActiveHolder(kv);
          if (h !== null) this.set({ service: h.record.service, node: String(h.record.node) }, Number(h.token));
        }
      },
    });
    new Gauge({
      name: "phalanx_clock_skew_seconds", help: "Wall clock of the node minus the leader's, measured over the Raft heartbeats (all members on the leader, itself on a follower)", labelNames: ["node"], registers,
      collect() {
        this.reset();
        for (const k of source.clockSkews()) this.set({ node: String(k.node) }, k.skewMs / 1000);
      },
    });
    this.failovers = new Counter({ name: "phalanx_failovers_total", help: "Failovers this node ran as leader, by outcome (completed: the new active is healthy; failed: none after 30 s)", labelNames: ["outcome"], registers });
    this.failoverSeconds = new Histogram({ name: "phalanx_failover_duration_seconds", help: "From the leader seeing a service without its active to the promoted active being healthy", buckets: FAILOVER_BUCKETS_SECONDS, registers });
    this.tokensIssued = new Counter({ name: "phalanx_fencing_tokens_issued_total", help: "Active promotions (each a new fencing token) this node made as leader", registers });
    this.failovers.inc({ outcome: "completed" }, 0);
    this.failovers.inc({ outcome: "failed" }, 0);
  }

  failoverEnded(outcome: "completed" | "failed", durationMs: number): void {
    this.failovers.inc({ outcome });
    if (outcome === "completed") this.failoverSeconds.observe(durationMs / 1000);
  }

  promoted(): void {
    this.tokensIssued.inc();
  }
}
