// What an instance and its hooks are told about their role, and what the agent's local endpoint
// answers an application that asks "am I still the active, with which token". Both derive from the
// agent's fencing view (fencing.ts), so an app never hears "active" past the fence point.
// Pure.
import type { FencingDeadlines } from "./fencing.js";

/** The role of an instance of an active-standby service. */
export type InstanceRole = "active" | "standby";

/** Environment variables given to the instance and to its promote/demote hooks. */
export function roleEnvironment(role: InstanceRole, token: number | null): Record<string, string> {
  const env: Record<string, string> = { PHALANX_ROLE: role };
  if (token !== null) env.PHALANX_FENCING_TOKEN = String(token);
  return env;
}

/** The answer of the agent's "am I the active?" endpoint. */
export type ActiveStatus =
  | { readonly active: true; readonly token: number; readonly validForMs: number }
  | { readonly active: false; readonly token: number | null; readonly reason: string };

/**
 * Whether the local instance may act as active right now, and for how long at most without a fresh
 * keep-alive (until the fence point). `token` is the holder's token when this node holds the role.
 */
export function activeStatus(nowMs: number, acting: boolean, token: number | null, deadlines: FencingDeadlines | null): ActiveStatus {
  if (!acting || token === null) return { active: false, token, reason: "this node's instance is not the active one" };
  if (deadlines === null || nowMs >= deadlines.fenceAtMs) return { active: false, token, reason: "fencing: no keep-alive acknowledged in time" };
  return { active: true, token, validForMs: deadlines.fenceAtMs - nowMs };
}
