// Port numbers for instances and the environment that carries them. Free ports come from a
// configured range, round-robin from a cursor so a port just given up (its old process may linger
// in TIME_WAIT, a proxy may still hold it for a moment) is the last to be given out again. The
// shell checks that a chosen port can really be bound and marks it busy when not.
import type { InstanceSpec, PortRequest } from "./types.js";

export interface PortRange {
  /** Inclusive. */
  readonly from: number;
  /** Inclusive. */
  readonly to: number;
}

export type PortAssignment =
  | { readonly ok: true; readonly ports: Readonly<Record<string, number>>; readonly cursor: number }
  | { readonly ok: false; readonly message: string };

/**
 * Numbers for each named port of `spec`. `taken`: ports held by other instances (port → id);
 * `busy`: ports found in use by something else; `previous`: this instance's earlier numbers, kept
 * when still valid so a restart or replacement keeps its address.
 */
export function assignPorts(
  spec: InstanceSpec,
  range: PortRange,
  state: { readonly taken: ReadonlyMap<number, string>; readonly busy: ReadonlySet<number>; readonly cursor: number },
  previous: Readonly<Record<string, number>> = {},
): PortAssignment {
  const ports: Record<string, number> = {};
  const used = new Set<number>();
  let cursor = state.cursor;
  for (const req of spec.ports) {
    if (req.port !== undefined) {
      const holder = state.taken.get(req.port);
      if (holder !== undefined && holder !== spec.instanceId) {
        return { ok: false, message: `Port ${req.port} ("${req.name}") of instance ${spec.instanceId} is already held by instance ${holder} on this node: give one of them another port` };
      }
      ports[req.name] = req.port;
      used.add(req.port);
    }
  }
  const isFree = (p: number): boolean => !used.has(p) && !state.busy.has(p) && (state.taken.get(p) ?? spec.instanceId) === spec.instanceId;
  for (const req of spec.ports) {
    if (req.port !== undefined) continue;
    const before = previous[req.name];
    if (before !== undefined && before >= range.from && before <= range.to && isFree(before)) {
      ports[req.name] = before;
      used.add(before);
      continue;
    }
    const found = nextFreePort(range, cursor, isFree);
    if (found === null) {
      return { ok: false, message: `No free port left in ${range.from}-${range.to} for port "${req.name}" of instance ${spec.instanceId}: widen the agent's port range or run fewer instances here` };
    }
    ports[req.name] = found;
    used.add(found);
    cursor = found + 1 > range.to ? range.from : found + 1;
  }
  return { ok: true, ports, cursor };
}

function nextFreePort(range: PortRange, cursor: number, isFree: (p: number) => boolean): number | null {
  const size = range.to - range.from + 1;
  const start = cursor < range.from || cursor > range.to ? range.from : cursor;
  for (let i = 0; i < size; i++) {
    const p = range.from + ((start - range.from + i) % size);
    if (isFree(p)) return p;
  }
  return null;
}

/** The variable that carries a port: `env` when set, else `PORT` for the first, `PORT_<NAME>` for the rest. */
export function portEnvName(port: PortRequest, index: number): string {
  if (port.env !== undefined) return port.env;
  return index === 0 ? "PORT" : `PORT_${port.name.toUpperCase().replace(/-/g, "_")}`;
}

/** The environment of an instance: inherited variables, then the spec's, then Phalanx's own. */
export function instanceEnv(
  spec: InstanceSpec,
  ports: Readonly<Record<string, number>>,
  inherited: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { ...inherited, ...spec.env, PHALANX_SERVICE: spec.service, PHALANX_INSTANCE: spec.instanceId };
  spec.ports.forEach((p, i) => {
    const n = ports[p.name];
    if (n !== undefined) env[portEnvName(p, i)] = String(n);
  });
  return env;
}

/** The port a http/tcp check targets: its own `port`, else the instance's first port. */
export function checkPort(spec: InstanceSpec, ports: Readonly<Record<string, number>>): number | null {
  const check = spec.healthCheck;
  if (check === undefined || check.type === "exec") return null;
  if (check.port !== undefined) return check.port;
  const first = spec.ports[0];
  return first === undefined ? null : (ports[first.name] ?? null);
}
