// The alert rules: pure functions of (state, event, nowMs) → (next state, alert changes). The shell
// (../manager.ts) feeds them what the leader observes and writes the changes to the outbox. Dedup
// lives here: an alert whose fingerprint is already firing is not raised again, and resolving an
// alert that is not firing changes nothing, so each firing and each resolution is emitted once.
import { firingAlert, fingerprintOf, resolvedAlert } from "./model.js";
import type { Alert, AlertSeverity, AlertSpec } from "./model.js";

/** What the cluster reports to the rules. Node and instance names are strings (labels). */
export type ClusterEvent =
  | { readonly type: "failover_begun"; readonly service: string; readonly failoverId: string; readonly fromNode: string; readonly reason: string }
  | { readonly type: "failover_completed"; readonly service: string; readonly failoverId: string; readonly toNode: string; readonly durationMs: number }
  | { readonly type: "failover_failed"; readonly service: string; readonly failoverId: string; readonly reason: string }
  /** The leader's view of a peer link, sampled periodically. */
  | { readonly type: "peer_seen"; readonly node: string; readonly connected: boolean }
  | { readonly type: "quorum_lost"; readonly sinceMs: number; readonly detail: string }
  | { readonly type: "quorum_regained"; readonly detail: string }
  | { readonly type: "instance_state"; readonly service: string; readonly instance: string; readonly state: string }
  | { readonly type: "service_health"; readonly service: string; readonly healthy: number; readonly total: number }
  | { readonly type: "fsync_p99"; readonly node: string; readonly p99Ms: number; readonly samples: number }
  | { readonly type: "clock_skew"; readonly node: string; readonly skewMs: number }
  /** Time passed: re-evaluate time-based rules (node down after a delay, flapping that calmed down). */
  | { readonly type: "tick" };

/** The thresholds of the rules. */
export interface RuleThresholds {
  /** A peer unreachable for this long is "down". */
  readonly nodeDownAfterMs: number;
  /** This many state changes of one instance within flapWindowMs is "flapping". */
  readonly flapCount: number;
  readonly flapWindowMs: number;
  /** WAL fsync p99 above this is a slow disk. */
  readonly fsyncP99Ms: number;
  /** A clock further than this from the leader's is skewed. */
  readonly clockSkewMs: number;
}

/** Defaults: node down after 5 s, 5 changes in 5 min is flapping, fsync p99 > 100 ms, skew > 500 ms. */
export const DEFAULT_RULE_THRESHOLDS: RuleThresholds = {
  nodeDownAfterMs: 5_000,
  flapCount: 5,
  flapWindowMs: 300_000,
  fsyncP99Ms: 100,
  clockSkewMs: 500,
};

/** Alert names (the `alertname` label). */
export const ALERT_NAMES = {
  failover: "PhalanxFailover",
  failoverFailed: "PhalanxFailoverFailed",
  nodeDown: "PhalanxNodeDown",
  quorumLost: "PhalanxQuorumLost",
  instanceFlapping: "PhalanxInstanceFlapping",
  serviceNoHealthyInstance: "PhalanxServiceNoHealthyInstance",
  slowDisk: "PhalanxSlowDisk",
  clockSkew: "PhalanxClockSkew",
  test: "PhalanxTestAlert",
} as const;

/** What the rules remember between events. Treated as immutable: every step returns a new one. */
export interface RuleState {
  /** Firing alerts by fingerprint (persisted by the shell, so a new leader does not re-raise them). */
  readonly active: ReadonlyMap<string, Alert>;
  /** Peers seen unreachable, with the time first seen so. */
  readonly peersDownSinceMs: ReadonlyMap<string, number>;
  /** Recent state-change times of each instance ("service/instance"), oldest first. */
  readonly instanceChangesMs: ReadonlyMap<string, readonly number[]>;
}

/** The outcome of one step. */
export interface RuleStep {
  readonly state: RuleState;
  /** Alerts to deliver, in order: newly firing and newly resolved ones. */
  readonly changes: readonly Alert[];
}

/** Bound on the remembered state changes of one instance (flapping needs flapCount of them). */
export const MAX_CHANGES_PER_INSTANCE = 64;
/** Bound on the instances tracked for flapping; the least recently changed are forgotten first. */
export const MAX_TRACKED_INSTANCES = 4096;

/** A state with the given firing alerts (a new leader loads them from the store) and nothing else. */
export function initialRuleState(active: readonly Alert[] = []): RuleState {
  return { active: new Map(active.filter((a) => a.status === "firing").map((a) => [a.fingerprint, a])), peersDownSinceMs: new Map(), instanceChangesMs: new Map() };
}

/** Options of a step: thresholds and labels put on every alert (e.g. the cluster id). */
export interface RuleOptions {
  readonly thresholds: RuleThresholds;
  readonly commonLabels: Readonly<Record<string, string>>;
}

/** Applies one event. */
export function applyEvent(state: RuleState, event: ClusterEvent, nowMs: number, options: RuleOptions): RuleStep {
  const step = new Step(state, nowMs, options);
  step.apply(event);
  return step.result();
}

/** One step's working copy of the state and the changes it has made. */
class Step {
  private readonly active: Map<string, Alert>;
  private readonly peersDown: Map<string, number>;
  private readonly instanceChanges: Map<string, readonly number[]>;
  private readonly changes: Alert[] = [];

  constructor(state: RuleState, private readonly nowMs: number, private readonly options: RuleOptions) {
    this.active = new Map(state.active);
    this.peersDown = new Map(state.peersDownSinceMs);
    this.instanceChanges = new Map(state.instanceChangesMs);
  }

  result(): RuleStep {
    return { state: { active: this.active, peersDownSinceMs: this.peersDown, instanceChangesMs: this.instanceChanges }, changes: this.changes };
  }

  apply(e: ClusterEvent): void {
    const t = this.options.thresholds;
    switch (e.type) {
      case "failover_begun":
        return this.fire({ name: ALERT_NAMES.failover, severity: "warning", labels: { service: e.service, failover_id: e.failoverId },
          summary: `Failover of service ${e.service} begun`, description: `Failover ${e.failoverId} of service ${e.service} begun away from node ${e.fromNode}: ${e.reason}`,
          extraAnnotations: { from_node: e.fromNode } });
      case "failover_completed": {
        const annotations = { description: `Failover ${e.failoverId} of service ${e.service} completed in ${e.durationMs} ms: now active on node ${e.toNode}`, duration_ms: String(e.durationMs), to_node: e.toNode };
        const labels = { service: e.service, failover_id: e.failoverId };
        // The completion is news even if the "begun" alert was never seen (e.g. raised by a leader that then died before writing it).
        if (!this.resolve(ALERT_NAMES.failover, "warning", labels, annotations)) {
          const begun = this.build({ name: ALERT_NAMES.failover, severity: "warning", labels, summary: `Failover of service ${e.service} completed`, description: annotations.description }, this.nowMs - e.durationMs);
          this.changes.push(resolvedAlert(begun, this.nowMs, annotations));
        }
        this.resolve(ALERT_NAMES.failoverFailed, "critical", { service: e.service }, { description: `Service ${e.service} failed over successfully (failover ${e.failoverId})` });
        return;
      }
      case "failover_failed":
        this.resolve(ALERT_NAMES.failover, "warning", { service: e.service, failover_id: e.failoverId }, { description: `Failover ${e.failoverId} of service ${e.service} failed: ${e.reason}`, outcome: "failed" });
        return this.fire({ name: ALERT_NAMES.failoverFailed, severity: "critical", labels: { service: e.service },
          summary: `Failover of service ${e.service} failed`, description: `Failover ${e.failoverId} of service ${e.service} failed: ${e.reason}; the service may have no active instance` });
      case "peer_seen":
        if (e.connected) {
          const since = this.peersDown.get(e.node);
          this.peersDown.delete(e.node);
          this.resolve(ALERT_NAMES.nodeDown, "critical", { node: e.node }, { description: since === undefined ? `Node ${e.node} is reachable again` : `Node ${e.node} is reachable again after ${Math.round((this.nowMs - since) / 1000)} s` });
        } else {
          if (!this.peersDown.has(e.node)) this.peersDown.set(e.node, this.nowMs);
          this.checkPeersDown();
        }
        return;
      case "quorum_lost":
        return this.fire({ name: ALERT_NAMES.quorumLost, severity: "critical", labels: {}, summary: "The cluster lost its quorum",
          description: `No majority of voters could elect a leader: ${e.detail}; writes were refused meanwhile` }, e.sinceMs);
      case "quorum_regained":
        return void this.resolve(ALERT_NAMES.quorumLost, "critical", {}, { description: `Quorum regained: ${e.detail}` });
      case "instance_state":
        return this.instanceChanged(e.service, e.instance);
      case "service_health":
        if (e.total > 0 && e.healthy === 0) {
          return this.fire({ name: ALERT_NAMES.serviceNoHealthyInstance, severity: "critical", labels: { service: e.service },
            summary: `Service ${e.service} has no healthy instance`, description: `All ${e.total} instances of service ${e.service} are unhealthy or stopped` });
        }
        return void this.resolve(ALERT_NAMES.serviceNoHealthyInstance, "critical", { service: e.service }, { description: `Service ${e.service} has ${e.healthy} of ${e.total} instances healthy` });
      case "fsync_p99":
        if (e.p99Ms > t.fsyncP99Ms) {
          return this.fire({ name: ALERT_NAMES.slowDisk, severity: "warning", labels: { node: e.node },
            summary: `Slow disk on node ${e.node}`, description: `WAL fsync p99 is ${e.p99Ms.toFixed(1)} ms over the last ${e.samples} syncs (threshold ${t.fsyncP99Ms} ms): writes and elections slow down` });
        }
        return void this.resolve(ALERT_NAMES.slowDisk, "warning", { node: e.node }, { description: `WAL fsync p99 back to ${e.p99Ms.toFixed(1)} ms on node ${e.node}` });
      case "clock_skew":
        if (Math.abs(e.skewMs) > t.clockSkewMs) {
          return this.fire({ name: ALERT_NAMES.clockSkew, severity: "warning", labels: { node: e.node },
            summary: `Clock of node ${e.node} is skewed`, description: `The clock of node ${e.node} differs from the leader's by ${Math.round(e.skewMs)} ms (threshold ${t.clockSkewMs} ms): check NTP on that host` });
        }
        return void this.resolve(ALERT_NAMES.clockSkew, "warning", { node: e.node }, { description: `Clock of node ${e.node} back within ${t.clockSkewMs} ms of the leader's` });
      case "tick":
        this.checkPeersDown();
        return this.calmFlapping();
    }
  }

  private checkPeersDown(): void {
    for (const [node, since] of this.peersDown) {
      if (this.nowMs - since < this.options.thresholds.nodeDownAfterMs) continue;
      this.fire({ name: ALERT_NAMES.nodeDown, severity: "critical", labels: { node },
        summary: `Node ${node} is down`, description: `The leader has not reached node ${node} for ${Math.round((this.nowMs - since) / 1000)} s` }, since);
    }
  }

  private instanceChanged(service: string, instance: string): void {
    const key = `${service}/${instance}`;
    const t = this.options.thresholds;
    const recent = [...(this.instanceChanges.get(key) ?? []).filter((ms) => this.nowMs - ms < t.flapWindowMs), this.nowMs].slice(-MAX_CHANGES_PER_INSTANCE);
    this.instanceChanges.delete(key); // re-inserted last: the map's order is least recently changed first
    this.instanceChanges.set(key, recent);
    while (this.instanceChanges.size > MAX_TRACKED_INSTANCES) {
      const oldest = this.instanceChanges.keys().next().value;
      if (oldest === undefined) break;
      this.instanceChanges.delete(oldest);
    }
    if (recent.length >= t.flapCount) {
      this.fire({ name: ALERT_NAMES.instanceFlapping, severity: "warning", labels: { service, instance },
        summary: `Instance ${instance} of service ${service} is flapping`, description: `Instance ${instance} of service ${service} changed state ${recent.length} times in ${Math.round(t.flapWindowMs / 1000)} s` });
    }
  }

  /** Flapping ends once an instance has had no state change for a whole window. */
  private calmFlapping(): void {
    const t = this.options.thresholds;
    for (const [key, times] of this.instanceChanges) {
      const last = times[times.length - 1];
      if (last !== undefined && this.nowMs - last < t.flapWindowMs) continue;
      this.instanceChanges.delete(key);
      const [service = "", instance = ""] = key.split("/", 2);
      this.resolve(ALERT_NAMES.instanceFlapping, "warning", { service, instance }, { description: `Instance ${instance} of service ${service} has been stable for ${Math.round(t.flapWindowMs / 1000)} s` });
    }
  }

  private build(spec: AlertSpec, startsAtMs: number): Alert {
    return firingAlert(spec, startsAtMs, this.options.commonLabels);
  }

  private fire(spec: AlertSpec, startsAtMs: number = this.nowMs): void {
    const alert = this.build(spec, startsAtMs);
    if (this.active.has(alert.fingerprint)) return;
    this.active.set(alert.fingerprint, alert);
    this.changes.push(alert);
  }

  /** Resolves the alert with these labels if it fires; true if it did. */
  private resolve(name: string, severity: AlertSeverity, labels: Readonly<Record<string, string>>, annotations: Partial<Record<string, string>>): boolean {
    const fingerprint = fingerprintOf({ ...this.options.commonLabels, ...labels, alertname: name, severity });
    const firing = this.active.get(fingerprint);
    if (firing === undefined) return false;
    this.active.delete(fingerprint);
    this.changes.push(resolvedAlert(firing, this.nowMs, annotations));
    return true;
  }
}
