// From the instances this node should run to what to do about the ones it has: start the missing,
// stop the removed, replace the changed. A spec is "changed" when any field differs (env key
// order does not count); the replacement reuses the instance id, so it starts once the old
// process has exited.
import type { InstanceSpec } from "./types.js";

export interface ConvergePlan {
  readonly start: readonly InstanceSpec[];
  readonly replace: readonly InstanceSpec[];
  readonly stop: readonly string[];
}

export type ConvergeResult = { readonly ok: true; readonly plan: ConvergePlan } | { readonly ok: false; readonly message: string };

/** Bound on instances one node supervises, so a bad placement cannot fork-bomb a node. */
export const MAX_INSTANCES_PER_NODE = 1000;

/**
 * `present`: instance id → the spec it runs (or will run once a replacement starts); instances
 * already being removed are not in it.
 */
export function planConvergence(present: ReadonlyMap<string, InstanceSpec>, desired: readonly InstanceSpec[]): ConvergeResult {
  if (desired.length > MAX_INSTANCES_PER_NODE) {
    return { ok: false, message: `Cannot run ${desired.length} instances on one node: the limit is ${MAX_INSTANCES_PER_NODE}` };
  }
  const wanted = new Map<string, InstanceSpec>();
  for (const spec of desired) {
    if (wanted.has(spec.instanceId)) {
      return { ok: false, message: `Instance id ${spec.instanceId} appears twice in the desired set: give every instance its own id` };
    }
    wanted.set(spec.instanceId, spec);
  }
  const start: InstanceSpec[] = [];
  const replace: InstanceSpec[] = [];
  for (const spec of wanted.values()) {
    const have = present.get(spec.instanceId);
    if (have === undefined) start.push(spec);
    else if (!sameSpec(have, spec)) replace.push(spec);
  }
  const stop = [...present.keys()].filter((id) => !wanted.has(id));
  return { ok: true, plan: { start, replace, stop } };
}

/** Equal as JSON with object keys sorted. */
export function sameSpec(a: InstanceSpec, b: InstanceSpec): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
