// From a validated service spec to what the scheduler needs (scheduler/types.ts ServiceDemand),
// and the spec's revision: a digest of the fields that shape a running instance, so that changing
// them rolls the instances while changing replicas, placement, update settings or expose does not.
import { createHash } from "node:crypto";
import type { ServiceDemand } from "../scheduler/types.js";
import type { ServiceSpec } from "./service.js";

/** Length of a revision in hex digits (64 bits: collisions among one service's specs are moot). */
export const REVISION_HEX_DIGITS = 16;

/** The fields whose change means "run a new instance": everything the agent uses to start one. */
export function instanceShape(spec: ServiceSpec): unknown {
  return { run: spec.run, cwd: spec.cwd ?? null, env: spec.env, user: spec.user ?? null, ports: spec.ports, healthCheck: spec.healthCheck ?? null, restart: spec.restart, stop: spec.stop };
}

/** A stable digest of the instance-shaping fields; key order in the file does not matter. */
export function serviceRevision(spec: ServiceSpec): string {
  return createHash("sha256").update(canonicalJson(instanceShape(spec))).digest("hex").slice(0, REVISION_HEX_DIGITS);
}

/**
 * What the scheduler places for `spec`. An active-standby service places its active instance and
 * its standbys like replicas (spread, one per node): a warm standby's placement runs, a cold one's
 * is held by its node's agent unstarted until promoted (server/services/failover-agent.ts); which
 * one is active is the /phalanx/active/<service> record's (src/failover).
 */
export function toServiceDemand(spec: ServiceSpec, options: { revision?: string; haltedRevision?: string } = {}): ServiceDemand {
  const count = spec.mode === "active-standby" ? 1 + spec.standbys : spec.replicas;
  return {
    name: spec.name,
    revision: options.revision ?? serviceRevision(spec),
    count,
    labels: spec.placement.labels,
    ...(spec.placement.spreadBy !== undefined ? { spreadBy: spec.placement.spreadBy } : {}),
    maxPerNode: spec.placement.maxPerNode,
    fixedPorts: spec.ports.flatMap((p) => (p.port === null ? [] : [p.port])),
    maxSurge: spec.update.maxSurge,
    maxUnavailable: spec.update.maxUnavailable,
    ...(options.haltedRevision !== undefined ? { haltedRevision: options.haltedRevision } : {}),
  };
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
