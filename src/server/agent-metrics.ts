// What the node's own agent does, as counters beside the store and cluster series in the node's
// registry: health-check results of the instances it runs, demotions of its active instances
// (fencing events, by cause) and the commands its session fronts ran. These are per node: a
// dashboard sums them over the nodes (unlike the cluster series, which every node reports alike).
import { Counter } from "prom-client";
import type { Registry } from "prom-client";
import type { DemoteCause } from "../failover/runtime/active-guard.js";
import type { FrontCommandObserver } from "../fronts/runtime/front-store.js";

/** The agent's counters; the callbacks plug into Supervisor, NodeAgent and startFronts. */
export class AgentMetrics {
  private readonly checks: Counter<"service" | "result">;
  private readonly demotions: Counter<"service" | "cause">;
  private readonly commands: Counter<"front" | "command" | "outcome">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.checks = new Counter({ name: "phalanx_health_checks_total", help: "Health checks of the instances this node runs, by service and result (pass, fail)", labelNames: ["service", "result"], registers });
    this.demotions = new Counter({ name: "phalanx_fencing_demotions_total", help: "Active instances demoted on this node, by service and cause (planned, lease_lost, superseded, self_fenced)", labelNames: ["service", "cause"], registers });
    this.commands = new Counter({ name: "phalanx_front_commands_total", help: "Data commands run by this node's session fronts, by front (redis, memcached), command and outcome", labelNames: ["front", "command", "outcome"], registers });
  }

  readonly checked = (service: string, _instance: string, ok: boolean): void => {
    this.checks.inc({ service, result: ok ? "pass" : "fail" });
  };

  readonly demoted = (service: string, cause: DemoteCause): void => {
    this.demotions.inc({ service, cause });
  };

  readonly frontCommand: FrontCommandObserver = (front, command, outcome) => {
    this.commands.inc({ front, command: command.toLowerCase(), outcome });
  };
}
