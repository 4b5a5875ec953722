// Prometheus metrics of one node's store, in a registry of its own (never the global one, so tests
// that run several nodes in one process do not collide). Names follow etcd's where one exists, with
// the `phalanx_` prefix: a dashboard or alert written for etcd maps one to one. Gauges that mirror
// Raft state are read at scrape time from the replica, so the hot path only bumps counters.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RaftStatus } from "../raft/raft.js";
import { NO_NODE } from "../raft/raft.js";

/** What the metrics read at scrape time. */
export interface NodeMetricsSource {
  status(): RaftStatus;
  /** Index of the last entry applied to the store. */
  appliedIndex(): number;
  /** Proposals waiting to be applied here. */
  pendingProposals(): number;
}

/** fsync latencies from a fast SSD (0.1 ms) to a stalled disk (8 s): etcd's WAL fsync buckets. */
export const FSYNC_BUCKETS_SECONDS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
/** Snapshot sizes from 1 KiB to 4 GiB. */
export const SNAPSHOT_SIZE_BUCKETS_BYTES = [1024, 16 * 1024, 256 * 1024, 4 * 1024 * 1024, 64 * 1024 * 1024, 512 * 1024 * 1024, 4 * 1024 * 1024 * 1024];

/**
 * The client API routes counted by name; anything else is counted as "other" so that a client
 * probing random paths cannot grow the series without bound.
 */
export const KNOWN_ROUTES: ReadonlySet<string> = new Set([
  "/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange", "/v3/kv/txn", "/v3/kv/compaction",
  "/v3/lease/grant", "/v3/lease/revoke", "/v3/lease/keepalive", "/v3/lease/timetolive", "/v3/lease/leases",
  "/v3/watch", "/healthz", "/metrics",
]);

/** A node's store metrics. */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly leaderChanges: Counter;
  private readonly proposalsFailed: Counter<"code">;
  private readonly fsyncSeconds: Histogram;
  private readonly snapshotBytes: Histogram<"kind">;
  private readonly snapshotSaveSeconds: Histogram;
  private readonly requests: Counter<"route" | "code">;

  constructor(source: NodeMetricsSource) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge("phalanx_server_has_leader", "1 when this node knows a leader, else 0", () => (source.status().leader === NO_NODE ? 0 : 1));
    gauge("phalanx_server_is_leader", "1 when this node is the leader, else 0", () => (source.status().role === "leader" ? 1 : 0));
    gauge("phalanx_server_term", "The Raft term this node is in", () => source.status().term);
    // Raft indexes only grow: counters (etcd's names; promtool wants _total only on counters), set from the replica at scrape time.
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
    };
    counter("phalanx_server_proposals_committed_total", "Index of the last entry known committed (etcd's name)", () => source.status().commit);
    counter("phalanx_server_proposals_applied_total", "Index of the last entry applied to the store", () => source.appliedIndex());
    gauge("phalanx_server_proposals_pending", "Proposals made here and not yet applied", () => source.pendingProposals());
    gauge("phalanx_server_apply_lag_entries", "Committed entries not yet applied here", () => Math.max(0, source.status().commit - source.appliedIndex()));
    gauge("phalanx_server_log_first_index", "Index of the first entry still in the log (older ones are in the snapshot)", () => source.status().firstIndex);
    this.leaderChanges = new Counter({ name: "phalanx_server_leader_changes_seen_total", help: "Leader changes this node has seen", registers });
    this.proposalsFailed = new Counter({ name: "phalanx_server_proposals_failed_total", help: "Proposals made here that were refused or did not apply, by outcome code", labelNames: ["code"], registers });
    this.fsyncSeconds = new Histogram({ name: "phalanx_disk_wal_fsync_duration_seconds", help: "Latency of the WAL's fdatasync calls", buckets: FSYNC_BUCKETS_SECONDS, registers });
    this.snapshotBytes = new Histogram({ name: "phalanx_snapshot_size_bytes", help: "Size of snapshots taken here (kind=taken) or received from the leader (kind=received)", labelNames: ["kind"], buckets: SNAPSHOT_SIZE_BUCKETS_BYTES, registers });
    this.snapshotSaveSeconds = new Histogram({ name: "phalanx_snapshot_save_duration_seconds", help: "Time to make a snapshot durable", buckets: FSYNC_BUCKETS_SECONDS, registers });
    this.requests = new Counter({ name: "phalanx_http_requests_total", help: "Client API requests answered, by route and HTTP status", labelNames: ["route", "code"], registers });
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  proposalFailed(code: string): void {
    this.proposalsFailed.inc({ code });
  }

  fsync(seconds: number): void {
    this.fsyncSeconds.observe(seconds);
  }

  snapshot(kind: "taken" | "received", bytes: number): void {
    this.snapshotBytes.observe({ kind }, bytes);
  }

  snapshotSaved(seconds: number): void {
    this.snapshotSaveSeconds.observe(seconds);
  }

  request(path: string, status: number): void {
    // Admin routes are a fixed set the node serves; an unknown /v3/phalanx/ path answers 404.
    const known = KNOWN_ROUTES.has(path) || (path.startsWith("/v3/phalanx/") && status !== 404);
    this.requests.inc({ route: known ? path : "other", code: String(status) });
  }

  /** The Prometheus text exposition of every series. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
