// The dashboard's routes, each with its access level (access.ts):
//   GET  /dashboard, /dashboard/<file>      public — the page shell and its scripts; no data in them
//   GET  /v3/phalanx/dashboard/state        admin  — the whole state as JSON (what the stream sends)
//   GET  /v3/phalanx/dashboard/stream       admin  — server-sent events: "state" and "feed" messages
//   POST /v3/phalanx/dashboard/leader       admin  — the leader's part (lag, heartbeats); leader only
//   POST /v3/phalanx/dashboard/logs         admin  — an instance's log (as `phalanx logs`), relayed to its node
// The page's actions call the existing admin routes (nodes/drain, nodes/undrain, services/failover,
// transfer) with the same token; a follower relays them to the leader like any admin call.
import type { Logger } from "pino";
import type { ClusterRoute, PageRoute } from "../http-api.js";
import { ServerError } from "../errors.js";
import { DashboardAssets } from "./assets.js";
import { LEADER_PART_PATH, leaderPart, LeaderPartSource } from "./leader-part.js";
import { LeaderHistory } from "./leader-history.js";
import { buildDashboardState, type DashboardSources } from "./state.js";
import { DashboardStream } from "./stream.js";
import { INSTANCE_LOGS_PATH, instanceLogs } from "./instance-logs.js";
import type { LeaderForwarder } from "../forward.js";

/** What the dashboard needs from its node. */
export type DashboardDeps = Omit<DashboardSources, "leaderPart" | "history"> & {
  readonly forwarder: LeaderForwarder;
  /** The node's admin token, to ask the leader for its part. */
  readonly adminToken: string | null;
  readonly logger: Logger;
};

/** The dashboard of one node: its routes, and stop() for the node's shutdown. */
export interface Dashboard {
  readonly routes: ReadonlyMap<string, ClusterRoute>;
  readonly pages: ReadonlyMap<string, PageRoute>;
  start(): void;
  stop(): void;
}

/** Builds the dashboard's routes over a node's state. */
export function createDashboard(deps: DashboardDeps): Dashboard {
  const history = new LeaderHistory(deps.replica, deps.wallMs);
  const leaderPartSource = new LeaderPartSource({ replica: deps.replica, forwarder: deps.forwarder, adminToken: deps.adminToken, ...(deps.clockSkews ? { clockSkews: deps.clockSkews } : {}) });
  const sources: DashboardSources = { ...deps, leaderPart: leaderPartSource, history };
  const build = (): ReturnType<typeof buildDashboardState> => buildDashboardState(sources);
  const stream = new DashboardStream({ replica: deps.replica, build, logger: deps.logger });
  const assets = new DashboardAssets();

  const pages = new Map<string, PageRoute>();
  for (const path of DashboardAssets.paths()) pages.set(`GET ${path}`, { access: "public", serve: (req, res) => assets.serve(path, res, req) });
  pages.set("GET /v3/phalanx/dashboard/stream", { access: "admin", serve: (req, res) => stream.serve(req, res) });

  const routes = new Map<string, ClusterRoute>();
  routes.set("GET /v3/phalanx/dashboard/state", { access: "admin", handler: async () => build() });
  routes.set(`POST ${LEADER_PART_PATH}`, {
    access: "admin",
    handler: async () => {
      const part = leaderPart(deps.replica, deps.clockSkews);
      // Not relayed: a follower asks the leader it knows, and shows its older copy if that fails.
      if (part === null) throw new ServerError("no_leader", `Node ${deps.replica.id} is not the leader: ask the leader for its part`);
      return { part };
    },
  });
  const logDeps = { self: deps.replica.id as number, logDir: deps.config.services.logDir, forwarder: deps.forwarder, adminToken: deps.adminToken };
  routes.set(`POST ${INSTANCE_LOGS_PATH}`, { access: "admin", handler: async (body, req) => instanceLogs(logDeps, body, req) });
  return {
    routes,
    pages,
    start: () => history.start(),
    stop: () => {
      stream.stop();
      history.stop();
    },
  };
}
