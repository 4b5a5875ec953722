// Which events one controller round records: what changed between the view the last round saw and
// this one (nodes up, down, draining; instances started, healthy, unhealthy, failed), what the plan
// does (starts, stops, roll-out steps), and problems not told before. Pure: the controller writes them.
import type { Plan } from "../../scheduler/types.js";
import type { EventRecord } from "./layout.js";
import type { ServicesView } from "./view.js";

/** Most events one round records (a cluster-wide change is summarised by the first ones). */
export const MAX_EVENTS_PER_ROUND = 64;

const INSTANCE_EVENTS: Readonly<Record<string, string>> = {
  healthy: "instance_healthy",
  unhealthy: "instance_unhealthy",
  failed: "instance_failed",
  running: "instance_running",
  backoff: "instance_restarting",
};

/** Events for the changes from `before` (null on a new leader's first round: nothing is "new") to `after`. */
export function changeEvents(before: ServicesView | null, after: ServicesView, nowMs: number): EventRecord[] {
  const out: EventRecord[] = [];
  if (before === null) return out;
  for (const [id, n] of after.nodes) {
    if (!before.nodes.has(id)) out.push({ atMs: nowMs, kind: "node", type: "node_up", node: id, message: `Node ${n.value.name} (${id}) registered` });
  }
  for (const [id, n] of before.nodes) {
    if (!after.nodes.has(id)) out.push({ atMs: nowMs, kind: "node", type: "node_down", node: id, message: `Node ${n.value.name} (${id}) lost its lease: its instances are replaced on other nodes` });
  }
  for (const id of after.drains.keys()) {
    if (!before.drains.has(id)) out.push({ atMs: nowMs, kind: "node", type: "node_draining", node: id, message: `Node ${id} is draining: its instances move to other nodes` });
  }
  for (const id of before.drains.keys()) {
    if (!after.drains.has(id)) out.push({ atMs: nowMs, kind: "node", type: "node_undrained", node: id, message: `Node ${id} takes instances again` });
  }
  for (const [name, sp] of after.specs) {
    const was = before.specs.get(name)?.value.revision;
    if (was === undefined) out.push({ atMs: nowMs, kind: "service", type: "service_created", service: name, message: `Service ${name} applied at revision ${sp.value.revision}` });
    else if (was !== sp.value.revision) out.push({ atMs: nowMs, kind: "rollout", type: "rollout_started", service: name, message: `Service ${name} changed from revision ${was} to ${sp.value.revision}: rolling its instances` });
  }
  const rollingBefore = rolling(before);
  for (const name of rollingBefore) {
    const sp = after.specs.get(name);
    if (sp !== undefined && !rolling(after).has(name)) out.push({ atMs: nowMs, kind: "rollout", type: "rollout_done", service: name, message: `Service ${name} runs revision ${sp.value.revision} everywhere` });
  }
  for (const name of before.specs.keys()) {
    if (!after.specs.has(name)) out.push({ atMs: nowMs, kind: "service", type: "service_deleted", service: name, message: `Service ${name} deleted: its instances stop` });
  }
  for (const [id, i] of after.instances) {
    const was = before.instances.get(id)?.value.state;
    const now = i.value.state;
    const type = INSTANCE_EVENTS[now];
    if (was === now || type === undefined) continue;
    const why = i.value.message !== null && i.value.message !== "" ? `: ${i.value.message}` : "";
    out.push({ atMs: nowMs, kind: "instance", type, node: i.value.node, service: i.value.service, instance: id, message: `Instance ${id} of ${i.value.service} on node ${i.value.node} is ${now}${why}` });
  }
  return out;
}

/** Services with placements of another revision than their spec's. */
function rolling(v: ServicesView): Set<string> {
  const out = new Set<string>();
  for (const p of v.placements.values()) {
    const spec = v.specs.get(p.value.service);
    if (spec !== undefined && spec.value.revision !== p.value.revision) out.add(p.value.service);
  }
  return out;
}

/** Events for what a plan does; `ids` names the starts in order. */
export function planEvents(plan: Plan, ids: readonly string[], nowMs: number): EventRecord[] {
  const out: EventRecord[] = [];
  plan.start.forEach((s, k) => {
    const node = Number(s.node);
    const type = s.reason === "rollout" ? "rollout_step" : s.reason === "missing" ? "instance_placed" : "instance_replaced";
    out.push({ atMs: nowMs, kind: s.reason === "rollout" ? "rollout" : "instance", type, node, service: s.service, instance: ids[k] ?? "", message: `Start ${ids[k] ?? "?"} of ${s.service} (revision ${s.revision}) on node ${node}: ${s.reason.replace(/_/g, " ")}` });
  });
  for (const s of plan.stop) {
    out.push({ atMs: nowMs, kind: s.reason === "rollout" ? "rollout" : "instance", type: "instance_stopped", node: Number(s.node), service: s.service, instance: s.instance, message: `Stop ${s.instance} of ${s.service} on node ${s.node}: ${s.reason.replace(/_/g, " ")}` });
  }
  return out;
}

/** Events for the plan's problems, each once while it lasts: `told` holds the ones already recorded and is updated. */
export function problemEvents(plan: Plan, told: Set<string>, nowMs: number): EventRecord[] {
  const out: EventRecord[] = [];
  const now = new Set<string>();
  for (const p of plan.problems) {
    const key = `${p.service}\u0000${p.code}\u0000${p.message}`;
    now.add(key);
    if (told.has(key)) continue;
    const kind = p.code.startsWith("rollout") ? "rollout" : "service";
    out.push({ atMs: nowMs, kind, type: p.code, service: p.service, message: `${p.message} — ${p.hint}` });
  }
  told.clear();
  for (const k of now) told.add(k);
  return out;
}
