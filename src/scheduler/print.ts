// The plan as people and scripts read it (`phalanx apply --dry-run`, `phalanx services --plan`):
// one block per service with what starts, stops and stays, and any problem with its fix. Pure: it
// returns lines and a JSON value; the CLI prints them.
import type { InstanceView, Plan, PlanProblem, SchedulerInput, StartAction, StopAction } from "./types.js";

/** One service's part of a plan, as `--json` prints it. */
export interface ServicePlanJson {
  readonly name: string;
  /** Null for a service that is no longer declared (its instances are being stopped). */
  readonly revision: string | null;
  readonly wanted: number;
  readonly live: number;
  readonly healthy: number;
  readonly start: readonly { readonly node: string; readonly revision: string; readonly reason: StartAction["reason"] }[];
  readonly stop: readonly { readonly instance: string; readonly node: string; readonly reason: StopAction["reason"] }[];
  readonly keep: readonly { readonly instance: string; readonly node: string; readonly revision: string; readonly state: InstanceView["state"]; readonly healthy: boolean; readonly restarts: number }[];
  readonly problems: readonly { readonly code: PlanProblem["code"]; readonly message: string; readonly hint: string }[];
}

/** The whole plan as `--json` prints it. */
export interface PlanJson {
  readonly changes: boolean;
  readonly summary: { readonly start: number; readonly stop: number; readonly keep: number; readonly problems: number };
  readonly services: readonly ServicePlanJson[];
}

/** Describes `plan` (made from `input`) as human lines and as JSON. */
export function describePlan(input: SchedulerInput, plan: Plan): { lines: string[]; json: PlanJson } {
  const byId = new Map(input.instances.map((i) => [i.id, i]));
  const demands = new Map(input.services.map((s) => [s.name, s]));
  const names = new Set([...input.services.map((s) => s.name), ...plan.stop.map((s) => s.service), ...plan.start.map((s) => s.service)]);
  for (const id of plan.keep) {
    const i = byId.get(id);
    if (i !== undefined) names.add(i.service);
  }
  const services: ServicePlanJson[] = [...names].sort().map((name) => {
    const svc = demands.get(name);
    const live = input.instances.filter((i) => i.service === name && (i.state === "starting" || i.state === "running"));
    return {
      name,
      revision: svc?.revision ?? null,
      wanted: svc?.count ?? 0,
      live: live.length,
      healthy: live.filter((i) => i.healthy).length,
      start: plan.start.filter((s) => s.service === name).map((s) => ({ node: s.node, revision: s.revision, reason: s.reason })),
      stop: plan.stop.filter((s) => s.service === name).map((s) => ({ instance: s.instance, node: s.node, reason: s.reason })),
      keep: plan.keep.map((id) => byId.get(id)).filter((i): i is InstanceView => i !== undefined && i.service === name)
        .map((i) => ({ instance: i.id, node: i.node, revision: i.revision, state: i.state, healthy: i.healthy, restarts: i.restarts })),
      problems: plan.problems.filter((p) => p.service === name).map((p) => ({ code: p.code, message: p.message, hint: p.hint })),
    };
  });
  const json: PlanJson = {
    changes: plan.start.length + plan.stop.length > 0,
    summary: { start: plan.start.length, stop: plan.stop.length, keep: plan.keep.length, problems: plan.problems.length },
    services,
  };
  return { lines: toLines(json), json };
}

function toLines(json: PlanJson): string[] {
  const lines: string[] = [];
  for (const s of json.services) {
    const head = s.revision === null ? `${s.name} (no longer declared)` : `${s.name} revision ${s.revision}`;
    lines.push(`${head}: wants ${s.wanted}, has ${s.live} (${s.healthy} healthy)`);
    for (const a of s.start) lines.push(`  + start on ${a.node} (${a.reason.replace(/_/g, " ")})`);
    for (const a of s.stop) lines.push(`  - stop ${a.instance} on ${a.node} (${a.reason.replace(/_/g, " ")})`);
    for (const k of s.keep) {
      const old = s.revision !== null && k.revision !== s.revision ? `, revision ${k.revision}` : "";
      lines.push(`  = keep ${k.instance} on ${k.node} (${k.state}, ${k.healthy ? "healthy" : "unhealthy"}, ${k.restarts} restart${k.restarts === 1 ? "" : "s"}${old})`);
    }
    for (const p of s.problems) lines.push(`  ! ${p.message} — ${p.hint}`);
  }
  const { start, stop, keep, problems } = json.summary;
  lines.push(json.changes ? `Plan: ${start} to start, ${stop} to stop, ${keep} to keep` : `No changes: ${keep} instance${keep === 1 ? "" : "s"} kept`);
  if (problems > 0) lines.push(`${problems} problem${problems === 1 ? " needs" : "s need"} attention (marked !)`);
  return lines;
}
