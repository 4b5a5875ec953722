// What the service controller tells the alert rules (src/alerts): every instance state change it
// sees (the flapping rule counts them) and each service's healthy/total whenever it changes (the
// "no healthy instance" rule). Both come from the leader's store view, one round apart, so a new
// leader (lastView null) reports every instance once: the rules ignore a repeated state and a
// firing alert is not raised twice (dedup by fingerprint), so that costs nothing.
import type { ClusterEvent } from "../../alerts/core/rules.js";
import type { ServicesView } from "./view.js";

/** Where alert events go (AlertManager.observe on the agent; ignored on a follower). */
export interface AlertSink {
  observe(event: ClusterEvent): void;
  /** Resolves once the events observed so far are recorded (in the replicated outbox). */
  settled?(): Promise<void>;
}

/** The instance_state events between two views (null: everything is new). */
export function instanceStateEvents(before: ServicesView | null, after: ServicesView): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  for (const [id, i] of after.instances) {
    if (before?.instances.get(id)?.value.state === i.value.state) continue;
    out.push({ type: "instance_state", service: i.value.service, instance: id, state: i.value.state });
  }
  return out;
}

/** Healthy and total placed instances per service of `view` (current specs only). */
export function serviceHealth(view: ServicesView): Map<string, { healthy: number; total: number }> {
  const out = new Map<string, { healthy: number; total: number }>();
  for (const name of view.specs.keys()) out.set(name, { healthy: 0, total: 0 });
  for (const [id, p] of view.placements) {
    const h = out.get(p.value.service);
    if (h === undefined) continue;
    h.total++;
    if (view.instances.get(id)?.value.healthy === true) h.healthy++;
  }
  return out;
}

/** service_health events for the services whose healthy/total changed since `told` (updated in place). */
export function serviceHealthEvents(view: ServicesView, told: Map<string, string>): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  const now = serviceHealth(view);
  for (const [service, h] of now) {
    const key = `${h.healthy}/${h.total}`;
    if (told.get(service) === key) continue;
    told.set(service, key);
    out.push({ type: "service_health", service, healthy: h.healthy, total: h.total });
  }
  for (const service of [...told.keys()]) if (!now.has(service)) told.delete(service);
  return out;
}
