// Starts a node's fronts from its config: the RESP and memcached listeners (each off unless enabled),
// the keyspace they share, and the expiry sweeper. agent.ts calls startFronts once the replica runs.
import type { Logger } from "pino";
import type { LeaderForwarder } from "../../server/forward.js";
import type { Replica } from "../../server/replica.js";
import type { FrontsConfig } from "./config.js";
import { ReplicaFrontStore } from "./front-store.js";
import type { FrontCommandObserver, FrontStore, LeaderTxnRelay } from "./front-store.js";
import { httpLeaderRelay } from "./http-relay.js";
import { Keyspace } from "./keyspace.js";
import { McFront } from "./mc-server.js";
import { McExecutor } from "./mc-executor.js";
import { RespExecutor } from "./resp-executor.js";
import { RESP_SERVER_VERSION, RespFront } from "./resp-server.js";
import { ExpirySweeper } from "./sweeper.js";
import { FrontUsage } from "./usage.js";

/** What startFronts needs besides the config. */
export interface FrontsDeps {
  readonly replica: Replica;
  /** How a follower sends writes to the leader; null: propose locally only (single node, tests). */
  readonly relay: LeaderTxnRelay | null;
  readonly clientToken: string | null;
  readonly adminToken: string | null;
  readonly logger: Logger;
  /** Wall-clock Unix ms; injected in tests. */
  readonly nowMs?: () => number;
  /** Told of every data command (the node's metrics). */
  readonly onCommand?: FrontCommandObserver;
}

/** Running fronts. */
export interface RunningFronts {
  readonly resp: RespFront | null;
  readonly memcached: McFront | null;
  readonly sweeper: ExpirySweeper;
  readonly keyspace: Keyspace;
  stop(): Promise<void>;
}

/** The relay of a node process: the HTTP API's leader forwarder with the client token. */
export function agentRelay(forwarder: LeaderForwarder, clientToken: string | null): LeaderTxnRelay {
  return httpLeaderRelay(forwarder, clientToken);
}

/** Starts the enabled fronts; nothing listens (and no sweeper runs) when both are off. */
export async function startFronts(config: FrontsConfig, deps: FrontsDeps): Promise<RunningFronts | null> {
  if (!config.resp.enabled && !config.memcached.enabled) return null;
  return startFrontsOn(new ReplicaFrontStore(deps.replica, deps.relay), config, deps);
}

/** Starts the fronts on any FrontStore. */
export async function startFrontsOn(store: FrontStore, config: FrontsConfig, deps: Omit<FrontsDeps, "replica" | "relay">): Promise<RunningFronts> {
  const nowMs = deps.nowMs ?? (() => Date.now());
  const usage = new FrontUsage({ maxKeys: config.maxKeys, maxBytes: config.maxBytes });
  const keyspace = new Keyspace(store, { nowMs, clockSkewMarginMs: config.clockSkewMarginMs, usage });
  const log = deps.logger.child({ part: "fronts" });
  const sweeper = new ExpirySweeper({ store, usage, nowMs, intervalMs: config.sweepIntervalMs, onError: (err) => log.debug({ err }, "expiry sweep failed; the next one retries") });
  const startedMs = Date.now();
  let resp: RespFront | null = null;
  let memcached: McFront | null = null;
  try {
    if (config.resp.enabled) {
      const executor = new RespExecutor(keyspace, { version: RESP_SERVER_VERSION, port: () => resp?.port ?? 0, connectedClients: () => resp?.connections ?? 0, startedMs, expiredKeys: () => sweeper.expiredKeys });
      resp = new RespFront({ host: config.resp.listen.host, port: config.resp.listen.port, clientToken: deps.clientToken, adminToken: deps.adminToken, executor, logger: log, ...(deps.onCommand === undefined ? {} : { onCommand: deps.onCommand }) });
      await resp.listen();
    }
    if (config.memcached.enabled) {
      memcached = new McFront({ host: config.memcached.listen.host, port: config.memcached.listen.port, executor: new McExecutor(keyspace, { allowFlushAll: config.memcached.allowFlushAll }), logger: log, ...(deps.onCommand === undefined ? {} : { onCommand: deps.onCommand }) });
      await memcached.listen();
    }
  } catch (err) {
    await resp?.close();
    await memcached?.close();
    throw err;
  }
  sweeper.start();
  log.info({ resp: resp?.port, memcached: memcached?.port }, "fronts started");
  const started = { resp, memcached };
  return {
    ...started,
    sweeper,
    keyspace,
    async stop() {
      sweeper.stop();
      await started.resp?.close();
      await started.memcached?.close();
    },
  };
}
