// The scheduler's vocabulary (see README.md): what it is given and the plan it returns. Everything is
// plain data so that the leader's controller, the simulator and the tests build it the same way.

/** What the scheduler needs of one service spec (the controller derives it from config/service.ts). */
export interface ServiceDemand {
  readonly name: string;
  /** Identity of the instance-shaping part of the spec: instances of another revision are rolled. */
  readonly revision: string;
  /** Instances wanted (for active-standby: the active one plus warm standbys). */
  readonly count: number;
  /** A node must carry each of these labels with this value. */
  readonly labels: Readonly<Record<string, string>>;
  /** Spread also over the values of this node label (a zone), not only over nodes. */
  readonly spreadBy?: string;
  readonly maxPerNode: number;
  /** Fixed host ports: no two live instances holding one may share a node. */
  readonly fixedPorts: readonly number[];
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  /** Set by the controller after a roll-out to this revision failed: start no more of it. */
  readonly haltedRevision?: string;
}

/** A node's state as the scheduler sees it; nodes whose lease expired are "down" or simply absent. */
export type NodeState = "up" | "draining" | "down";

export interface NodeView {
  readonly name: string;
  readonly state: NodeState;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * An instance's life as its agent reports it. `starting`: placed, spawning or inside its start
 * grace; `running`: the process runs (its checks decide `healthy`); `stopping`: asked to stop;
 * `failed`: the agent gave up after its restart policy (the record stays until the controller
 * forgets it, so the scheduler can avoid that node and halt a roll-out).
 */
export type InstanceState = "starting" | "running" | "stopping" | "failed";

export interface InstanceView {
  readonly id: string;
  readonly service: string;
  readonly revision: string;
  readonly node: string;
  readonly state: InstanceState;
  readonly healthy: boolean;
  /** Restarts on its node so far (shown by the plan printer; the agent applies the policy). */
  readonly restarts: number;
}

export interface SchedulerInput {
  readonly services: readonly ServiceDemand[];
  readonly nodes: readonly NodeView[];
  readonly instances: readonly InstanceView[];
}

/** Limits of the scheduler as a whole, so a flapping service cannot cause a storm. */
export interface SchedulerOptions {
  /** Most instances of one service that may be starting (placed, not yet healthy) at once. */
  readonly maxStartingPerService: number;
}

export const SCHEDULER_DEFAULTS: SchedulerOptions = { maxStartingPerService: 3 };

/** Why an instance is started. */
export type StartReason = "missing" | "replace_lost" | "replace_failed" | "rollout" | "move";
/** Why an instance is stopped. */
export type StopReason = "scale_down" | "node_lost" | "rollout" | "drain" | "placement" | "over_node_limit" | "port_clash" | "service_deleted";

export interface StartAction {
  readonly service: string;
  readonly revision: string;
  readonly node: string;
  readonly reason: StartReason;
}

export interface StopAction {
  readonly service: string;
  readonly instance: string;
  readonly node: string;
  readonly reason: StopReason;
}

/** Something the operator should hear about: a placement that cannot be met, a halted roll-out. */
export interface PlanProblem {
  readonly service: string;
  readonly code: "unplaceable" | "rollout_halted" | "rollout_failed" | "start_limited";
  /** What is wrong, in a sentence. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/**
 * The scheduler's answer: instances to start, to stop, and to keep (ids, sorted), plus problems.
 * `keep` holds every live instance not stopped; instances in `stopping` or `failed` appear nowhere.
 */
export interface Plan {
  readonly start: readonly StartAction[];
  readonly stop: readonly StopAction[];
  readonly keep: readonly string[];
  readonly problems: readonly PlanProblem[];
}
