// A node's side of active-standby services (issue 11, docs/failover.md): it holds the node's
// FENCING LEASE (a short lease of its own, default 1000 ms, that every active record of this node
// hangs on), stamps each keep-alive with its SEND time on the machine's monotonic clock and reports
// the acknowledgements to one ActiveGuard per active-standby instance placed here; it feeds each
// guard the /phalanx/active/<service> record as this node's store applies it; and it carries the
// guards' promote/demote calls out: hooks (killed at their timeout), a cold standby started on
// promotion, a demoted instance stopped through the supervisor and then reported stopped. A planned
// switchover (/phalanx/switchover/<service>) withholds the role: demote, wait until stopped, then
// release the record (a txn guarded by the token) so the leader's controller promotes the target.
//
// The node lease (node-agent.ts) stays what it was: registration and instance reports. Only the
// fencing lease decides who may act, so its TTL can be short without touching the rest.
import { spawn } from "node:child_process";
import type { Logger } from "pino";
import type { PhalanxClient } from "../../client/client.js";
import { PhalanxError } from "../../client/errors.js";
import type { InstanceSpec, InstanceStatus } from "../../agent/core/types.js";
import type { Supervisor } from "../../agent/supervisor.js";
import type { ServiceSpec } from "../../config/service.js";
import { activeKey, decodeActiveHolder, decodeSwitchover, switchoverKey } from "../../failover/active-record.js";
import type { FencingParams } from "../../failover/fencing.js";
import { roleEnvironment, type ActiveStatus } from "../../failover/role.js";
import { ActiveGuard, monotonicNowMs, type DemoteCause } from "../../failover/runtime/active-guard.js";
import { FencingWatchdog } from "../../failover/watchdog/fencing-watchdog.js";
import type { Replica } from "../replica.js";
import { ServiceVip } from "./service-vip.js";
import type { VipConfig } from "../../config/vip.js";
import { ClusterVipRole } from "./cluster-vip-role.js";
import { CLUSTER_VIP_KEY, CLUSTER_VIP_ROLE } from "./cluster-vip.js";
import { ACTIVE_PREFIX, drainKey, fencingKey, SPEC_PREFIX, SWITCHOVER_PREFIX, type FencingLeaseRecord } from "./layout.js";

/** Keep-alives of the fencing lease in flight at once (each carries its own send stamp). */
export const MAX_FENCING_KEEPALIVES_IN_FLIGHT = 4;

/** Fencing settings for the default 1000 ms fencing lease (docs/failover.md "Choosing the TTL"). */
export const DEFAULT_FAILOVER_FENCING: FencingParams = {
  leaseTtlMs: 1000,
  clockRateErrorMax: 0.005,
  safetyMarginMs: 100,
  stopTimeoutMs: 300,
  renewIntervalMs: 200,
};

export interface FailoverAgentOptions {
  readonly replica: Replica;
  /** A client of this node's own API with the admin token (writes relay to the leader). */
  readonly client: PhalanxClient;
  readonly supervisor: Supervisor;
  readonly nodeId: number;
  readonly logger: Logger;
  readonly params: FencingParams;
  /** Asks the node agent to converge the supervisor again (it calls adjust()). */
  readonly sync: () => void;
  /** Extra environment for instances and hooks (the local endpoint's address). */
  readonly env?: Readonly<Record<string, string>>;
  /** Told each time an active instance here is demoted (fencing events, for the metrics). */
  readonly onDemoted?: (service: string, cause: DemoteCause) => void;
}

/** One active-standby instance placed on this node. */
interface Entry {
  readonly service: string;
  readonly instanceId: string;
  spec: ServiceSpec;
  readonly guard: ActiveGuard;
  /** The guard promoted the instance: it acts (or is starting to). */
  acting: boolean;
  token: number | null;
  /** A demote asked the supervisor to stop it; cleared when it reports stopped. */
  stopRequested: boolean;
  /** A planned switchover (or a failed/removed active): release the record with this token once stopped. */
  releaseToken: number | null;
  releasing: boolean;
  /** Still placed on this node. */
  placed: boolean;
  /** The service's virtual IP, following this guard's view of the role (null without `vip:`). */
  vip: ServiceVip | null;
}

/** Runs the active-standby side of this node's services. */
export class FailoverAgent {
  private readonly entries = new Map<string, Entry>();
  private watchdog: FencingWatchdog | null = null;
  private leaseId: number | null = null;
  private lastAckedSendMs: number | null = null;
  private inFlight = 0;
  private granting = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Keep-alives failed since the last acknowledged one (a recovery re-announces the VIPs). */
  private failedRenewals = 0;
  private lastRenewTickMs: number | null = null;
  /** The cluster VIP's role-only guard (null without `clusterVip:`). */
  private clusterRole: ClusterVipRole | null = null;

  constructor(private readonly o: FailoverAgentOptions) {}

  /**
   * Node config `clusterVip:`: this node may hold the cluster VIP (cluster-vip.ts), a role that
   * follows this agent's fencing lease like a service's active. Call once, before start().
   */
  followClusterVip(config: VipConfig): void {
    if (this.clusterRole !== null) throw new Error("followClusterVip() called twice");
    this.clusterRole = new ClusterVipRole({
      nodeId: this.o.nodeId, config, params: this.o.params, logger: this.o.logger,
      release: async (token) => {
        await this.o.client.call("POST", "/v3/phalanx/agent/release", { service: CLUSTER_VIP_ROLE, token }, true);
      },
    });
  }

  start(): void {
    this.feedClusterRole();
    this.timer = setInterval(() => this.renew(), this.o.params.renewIntervalMs);
    this.timer.unref();
    void this.grant();
  }

  /** The fencing lease (null while none is granted). */
  get fencingLeaseId(): number | null {
    return this.leaseId;
  }

  /** The local endpoint's answer for `service`, or null when no instance of it is placed here. */
  status(service: string): (ActiveStatus & { instance: string; node: number }) | null {
    const e = [...this.entries.values()].find((x) => x.service === service && x.placed);
    return e === undefined ? null : { ...e.guard.status(), instance: e.instanceId, node: this.o.nodeId };
  }

  /** A cold standby placed here, held unstarted (not promoted, not being stopped). */
  isHeldCold(instanceId: string): boolean {
    const e = this.entries.get(instanceId);
    return e !== undefined && e.placed && e.spec.standby === "cold" && !e.acting && !e.stopRequested;
  }

  /** Keys of an applied batch: active records and switchover requests are fed to the guards. */
  changed(keys: readonly string[]): void {
    if (keys.some((k) => k.startsWith(ACTIVE_PREFIX) || k.startsWith(SWITCHOVER_PREFIX) || k.startsWith(SPEC_PREFIX))) this.refreshRecords();
    if (keys.includes(CLUSTER_VIP_KEY) || keys.includes(drainKey(this.o.nodeId)) || keys.includes(switchoverKey(CLUSTER_VIP_ROLE))) this.feedClusterRole();
  }

  /**
   * Applies active-standby rules to the node agent's desired specs (by instance id): creates a
   * guard per instance, holds cold standbys and stopping instances back, adds the role variables.
   */
  adjust(desired: Map<string, InstanceSpec & { revision: string }>, specs: ReadonlyMap<string, ServiceSpec>): Map<string, InstanceSpec & { revision: string }> {
    const seen = new Set<string>();
    for (const [id, d] of desired) {
      const spec = specs.get(d.service);
      if (spec?.mode !== "active-standby") continue;
      seen.add(id);
      const e = this.entry(id, spec);
      if (e.stopRequested || (spec.standby === "cold" && !e.acting)) {
        desired.delete(id);
        continue;
      }
      const role = spec.standby === "cold" ? roleEnvironment("active", e.token) : roleEnvironment("standby", null);
      desired.set(id, { ...d, env: { ...d.env, ...this.o.env, ...role } });
    }
    for (const e of this.entries.values()) {
      if (seen.has(e.instanceId) || !e.placed) continue;
      // No longer placed here: the supervisor stops it; an active gives the role up once stopped.
      e.placed = false;
      if (e.acting && e.token !== null) this.withhold(e, e.token);
      else this.forget(e);
    }
    return desired;
  }

  /** Supervisor statuses: a stopped instance ends its acting; a failed active gives the role up. */
  onStatus(s: InstanceStatus): void {
    const e = this.entries.get(s.instanceId);
    if (e === undefined) return;
    const down = s.state === "stopped" || s.state === "failed" || s.state === "backoff";
    if (s.state === "failed" && e.acting && e.token !== null && e.releaseToken === null) this.withhold(e, e.token);
    if (down && (e.acting || e.stopRequested)) this.stoppedActing(e);
  }

  /** Stops the lease keeper and the guards (instances are stopped by the caller), then revokes the fencing lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const e of this.entries.values()) e.guard.close();
    this.watchdog?.close();
    const role = this.clusterRole;
    this.clusterRole = null;
    await Promise.all([...[...this.entries.values()].map((e) => this.closeVip(e)),
      role?.close().catch((err: unknown) => this.o.logger.error({ err }, "cannot remove the cluster VIP; its watchdog removes it at the fencing deadline"))]);
  }

  /** Revokes the fencing lease (its active records vanish at once: the successor need not wait a TTL). Call after every instance stopped. */
  async revoke(): Promise<void> {
    if (this.leaseId === null) return;
    await this.o.client.call("POST", "/v3/phalanx/agent/write", { ops: [{ delete: fencingKey(this.o.nodeId) }], revokeLease: this.leaseId }, true);
  }

  private entry(id: string, spec: ServiceSpec): Entry {
    const old = this.entries.get(id);
    if (old !== undefined) {
      old.spec = spec;
      old.placed = true;
      if (JSON.stringify(old.vip?.config ?? null) !== JSON.stringify(spec.vip ?? null)) this.replaceVip(old);
      return old;
    }
    this.watchdog ??= new FencingWatchdog(this.o.logger.child({ watchdog: "fencing" }));
    const e: Entry = {
      service: spec.name, instanceId: id, spec, acting: false, token: null, stopRequested: false, releaseToken: null, releasing: false, placed: true,
      guard: null as unknown as ActiveGuard, vip: null,
    };
    if (spec.vip !== undefined) e.vip = new ServiceVip(spec.vip, this.o.params, this.o.logger.child({ service: spec.name, instance: id }));
    (e as { guard: ActiveGuard }).guard = new ActiveGuard({
      nodeId: this.o.nodeId,
      params: this.o.params,
      watchdog: this.watchdog,
      logger: this.o.logger.child({ service: spec.name, instance: id }),
      observer: (view) => e.vip?.observe(view),
      instance: {
        promote: (token) => this.promote(e, token),
        demote: (reason, cause) => {
          this.o.onDemoted?.(e.service, cause);
          this.demote(e, reason);
        },
        processGroup: () => this.o.supervisor.statuses().find((x) => x.instanceId === id)?.pid ?? null,
      },
    });
    this.entries.set(id, e);
    if (this.leaseId !== null && this.lastAckedSendMs !== null) e.guard.leaseGranted(this.leaseId, this.lastAckedSendMs);
    this.feed(e);
    return e;
  }

  private forget(e: Entry): void {
    e.guard.close();
    this.entries.delete(e.instanceId);
    void this.closeVip(e);
  }

  /** The service's `vip:` changed: drop the old address, follow the role with the new one. */
  private replaceVip(e: Entry): void {
    void this.closeVip(e);
    if (e.spec.vip !== undefined) {
      e.vip = new ServiceVip(e.spec.vip, this.o.params, this.o.logger.child({ service: e.service, instance: e.instanceId }));
      e.guard.recordSeen(this.holderOf(e));
    }
  }

  private async closeVip(e: Entry): Promise<void> {
    const vip = e.vip;
    e.vip = null;
    if (vip === null) return;
    try {
      await vip.close();
    } catch (err) {
      this.o.logger.error({ err, service: e.service, instance: e.instanceId }, "cannot remove the virtual IP; its watchdog removes it at the fencing deadline");
    }
  }

  private holderOf(e: Entry): { node: number; leaseId: number; token: number } | null {
    const kv = this.o.replica.localPrefix(activeKey(e.service)).find((k) => k.key === activeKey(e.service));
    const holder = kv === undefined ? null : decodeActiveHolder(kv);
    return holder === null ? null : { node: holder.record.node, leaseId: holder.record.leaseId, token: holder.token };
  }

  private promote(e: Entry, token: number): void {
    e.acting = true;
    e.token = token;
    this.o.logger.info({ service: e.service, instance: e.instanceId, token }, "promoted: this node's instance is the active");
    if (e.spec.standby === "cold") this.o.sync();
    if (e.spec.hooks?.promote !== undefined) void this.runHook(e, "promote", token, e.spec.hooks.promote.timeoutMs);
  }

  /**
   * Demote hook and stop. A planned switchover has time: the hook runs to its end (or timeout),
   * then the stop. Fencing has not: the hook gets at most the stop budget and runs beside the stop;
   * the fencing watchdog kills whatever still runs at the acting deadline.
   */
  private demote(e: Entry, reason: string): void {
    const token = e.token;
    const hook = e.spec.hooks?.demote;
    const stop = (): void => {
      e.stopRequested = true;
      this.o.sync();
      const st = this.o.supervisor.statuses().find((x) => x.instanceId === e.instanceId);
      if (st === undefined || st.pid === null) this.stoppedActing(e); // nothing runs: it stopped acting already
    };
    if (hook === undefined) return stop();
    const planned = reason === "planned switchover";
    const done = this.runHook(e, "demote", token, planned ? hook.timeoutMs : Math.min(hook.timeoutMs, this.o.params.stopTimeoutMs));
    if (planned) void done.then(stop);
    else stop();
  }

  private stoppedActing(e: Entry): void {
    const wasStopping = e.stopRequested;
    e.acting = false;
    e.token = null;
    e.stopRequested = false;
    e.guard.instanceStopped();
    if (e.releaseToken !== null) void this.release(e);
    if (wasStopping) this.o.sync(); // a warm standby starts again as standby
    if (!e.placed && e.releaseToken === null) this.forget(e);
  }

  /** A planned switchover, a failed active or a removed placement: stop acting, then release the record. */
  private withhold(e: Entry, token: number): void {
    if (e.releaseToken === token) return;
    e.releaseToken = token;
    this.o.logger.info({ service: e.service, instance: e.instanceId, token }, "giving the active role up: demoting, then releasing the record");
    e.guard.withhold(true);
    if (!e.acting && !e.stopRequested) void this.release(e);
  }

  private async release(e: Entry): Promise<void> {
    const token = e.releaseToken;
    if (token === null || e.releasing || e.acting || e.stopRequested) return;
    e.releasing = true;
    try {
      const r = await this.o.client.call("POST", "/v3/phalanx/agent/release", { service: e.service, token }, true);
      // released false: the record is no longer this generation (its lease ended meanwhile): nothing left to give up.
      this.o.logger.info({ service: e.service, instance: e.instanceId, token, released: r.released === true }, "active role released");
    } catch (err) {
      this.o.logger.warn({ err, service: e.service, instance: e.instanceId }, "cannot release the active record yet; retrying (the fencing lease ends it anyway)");
      setTimeout(() => { e.releasing = false; void this.release(e); }, 200).unref();
      return;
    }
    e.releasing = false;
  }

  /** Reads every guard's record (and switchover request) from the local store. */
  private refreshRecords(): void {
    for (const e of this.entries.values()) this.feed(e);
  }

  private feed(e: Entry): void {
    const kv = this.o.replica.localPrefix(activeKey(e.service)).find((k) => k.key === activeKey(e.service));
    const holder = kv === undefined ? null : decodeActiveHolder(kv);
    // The guard sees the record first: lifting the withhold while it still held the released
    // generation would promote this node again with the old token.
    e.guard.recordSeen(holder === null ? null : { node: holder.record.node, leaseId: holder.record.leaseId, token: holder.token });
    if (e.releaseToken !== null && holder?.token !== e.releaseToken) {
      // The released generation is gone: this node may be chosen again later.
      e.releaseToken = null;
      e.guard.withhold(false);
      if (!e.placed) return this.forget(e);
    }
    const sw = this.o.replica.localPrefix(switchoverKey(e.service)).find((k) => k.key === switchoverKey(e.service));
    const request = decodeSwitchover(sw);
    if (request !== null && holder !== null && holder.record.node === this.o.nodeId && request.to !== this.o.nodeId) this.withhold(e, holder.token);
  }

  private async grant(): Promise<void> {
    if (this.granting || this.stopped) return;
    this.granting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          const sentMs = monotonicNowMs();
          const r = (await this.o.client.call("POST", "/v3/phalanx/agent/fencing-lease", { ttlMs: this.o.params.leaseTtlMs }, false)) as { id: number; ttlMs: number };
          this.leaseId = r.id;
          this.lastAckedSendMs = sentMs;
          const record: FencingLeaseRecord = { leaseId: r.id, ttlMs: r.ttlMs };
          await this.o.client.call("POST", "/v3/phalanx/agent/write", { ops: [{ put: fencingKey(this.o.nodeId), value: record }], lease: r.id }, true);
          for (const g of this.guards()) g.leaseGranted(r.id, sentMs);
          this.o.logger.info({ lease: r.id, ttlMs: r.ttlMs }, "fencing lease granted");
          return;
        } catch (err) {
          this.leaseId = null;
          if (attempt % 20 === 0) this.o.logger.warn({ err }, "cannot get a fencing lease yet; retrying");
          await new Promise((res) => setTimeout(res, Math.min(1000, 50 * 2 ** Math.min(attempt, 4))));
        }
      }
    } finally {
      this.granting = false;
    }
  }

  /** One keep-alive, stamped with its send time; acknowledged → every guard may act longer. */
  private renew(): void {
    const id = this.leaseId;
    const tickMs = monotonicNowMs();
    // The interval fired far too late: this process was frozen (SIGSTOP, a stalled VM). Any VIP it
    // still holds (renewals permitting) is announced again: neighbours may have moved meanwhile.
    if (this.lastRenewTickMs !== null && tickMs - this.lastRenewTickMs > 3 * this.o.params.renewIntervalMs) this.reannounceVips();
    this.lastRenewTickMs = tickMs;
    if (id === null || this.stopped || this.inFlight >= MAX_FENCING_KEEPALIVES_IN_FLIGHT) return;
    const sentMs = monotonicNowMs();
    this.inFlight++;
    this.o.client.leaseKeepAlive(id).then(
      () => {
        if (this.leaseId !== id) return;
        this.lastAckedSendMs = Math.max(this.lastAckedSendMs ?? -Infinity, sentMs);
        for (const g of this.guards()) g.keepAliveAcked(sentMs);
        // Renewals came back after failing (a healed partition): the holder announces again.
        if (this.failedRenewals > 0) this.reannounceVips();
        this.failedRenewals = 0;
      },
      (err: unknown) => {
        this.failedRenewals++;
        if (this.leaseId !== id || !(err instanceof PhalanxError && err.status === 404)) return;
        this.o.logger.warn({ lease: id }, "fencing lease lost: every active instance here demotes; granting a new one");
        this.leaseId = null;
        this.lastAckedSendMs = null;
        for (const g of this.guards()) g.leaseLost();
        void this.grant();
      },
    ).finally(() => {
      this.inFlight--;
    });
  }

  private reannounceVips(): void {
    for (const e of this.entries.values()) e.vip?.reannounce();
    this.clusterRole?.reannounce();
  }

  /** Every guard the fencing lease's events go to: one per active-standby instance, and the cluster VIP's. */
  private guards(): ActiveGuard[] {
    const out = [...this.entries.values()].map((e) => e.guard);
    if (this.clusterRole !== null) out.push(this.clusterRole.guard);
    return out;
  }

  /** The cluster VIP's record, this node's drain and a switchover request as this node's store applied them, to its role. */
  private feedClusterRole(): void {
    const role = this.clusterRole;
    if (role === null) return;
    const kv = this.o.replica.localPrefix(CLUSTER_VIP_KEY).find((k) => k.key === CLUSTER_VIP_KEY);
    const holder = kv === undefined ? null : decodeActiveHolder(kv);
    const drained = this.o.replica.localPrefix(drainKey(this.o.nodeId)).some((k) => k.key === drainKey(this.o.nodeId));
    const sw = this.o.replica.localPrefix(switchoverKey(CLUSTER_VIP_ROLE)).find((k) => k.key === switchoverKey(CLUSTER_VIP_ROLE));
    const request = decodeSwitchover(sw);
    role.seen(holder === null ? null : { node: holder.record.node, leaseId: holder.record.leaseId, token: holder.token }, drained, request?.to ?? null);
  }

  /** Runs a hook in its own process group with the instance's environment and the role; SIGKILL at the timeout. Never rejects. */
  private runHook(e: Entry, which: "promote" | "demote", token: number | null, timeoutMs: number): Promise<void> {
    const hook = which === "promote" ? e.spec.hooks?.promote : e.spec.hooks?.demote;
    if (hook === undefined) return Promise.resolve();
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin", ...e.spec.env, ...this.o.env,
      PHALANX_SERVICE: e.service, PHALANX_INSTANCE: e.instanceId,
      ...roleEnvironment(which === "promote" ? "active" : "standby", token),
    };
    const log = this.o.logger.child({ service: e.service, instance: e.instanceId, hook: which });
    return new Promise((resolve) => {
      const child = spawn(hook.command, hook.args, { detached: true, stdio: "ignore", env, ...(e.spec.cwd !== undefined ? { cwd: e.spec.cwd } : {}) });
      const timer = setTimeout(() => {
        log.warn({ timeoutMs }, `${which} hook still running at its timeout: killed; the failover goes on`);
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
        resolve();
      }, timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        log.warn({ err }, `${which} hook could not run`);
        resolve();
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) log.warn({ code, signal }, `${which} hook failed`);
        resolve();
      });
    });
  }
}
