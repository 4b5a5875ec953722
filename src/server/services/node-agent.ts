// A node's side of services: it registers the node (a lease and /phalanx/nodes/<id> with its
// labels, kept alive, granted again after it expired), runs what the leader placed on it
// (/phalanx/placements/<id>/ → the supervisor) and reports each instance under
// /phalanx/instances/<id>/ on the node lease, so every report vanishes when the node does.
// It writes through its own client API with the admin token (`POST /v3/phalanx/agent/write`), which
// relays to the leader when this node follows: one path that works on every node.
import type { Logger } from "pino";
import type { PhalanxClient } from "../../client/client.js";
import { PhalanxError } from "../../client/errors.js";
import { instanceSpecFromService } from "../../agent/from-service.js";
import type { InstanceSpec, InstanceStatus } from "../../agent/core/types.js";
import type { Supervisor } from "../../agent/supervisor.js";
import type { ServiceSpec } from "../../config/service.js";
import type { Replica } from "../replica.js";
import {
  decodeRecord, instanceKey, nodeKey, PLACEMENT_PREFIX, ROLLOUT_PREFIX, SPEC_PREFIX,
  type InstanceRecord, type NodeRecord, type PlacementRecord, type RolloutRecord, type SpecRecord,
} from "./layout.js";
import { reportHealthy } from "./view.js";
import { DEFAULT_FAILOVER_FENCING, FailoverAgent } from "./failover-agent.js";
import type { FencingParams } from "../../failover/fencing.js";
import type { DemoteCause } from "../../failover/runtime/active-guard.js";
import { PositionProber, type PositionTarget } from "./position-probe.js";
import { instanceEnv } from "../../agent/core/ports.js";

/** The message of a cold standby's report while it waits unstarted. */
export const COLD_STANDBY_MESSAGE = "cold standby: starts when promoted";

/** One write of the agent route: put a record (on the node lease) or delete a key. */
export type AgentWriteOp = { readonly put: string; readonly value: unknown } | { readonly delete: string };

export interface NodeAgentOptions {
  readonly replica: Replica;
  /** A client of this node's own API, authenticated with the admin token. */
  readonly client: PhalanxClient;
  readonly supervisor: Supervisor;
  readonly logger: Logger;
  /** This node's record (labels, host, address). */
  readonly record: NodeRecord;
  readonly leaseTtlMs: number;
  /** Fencing of active-standby services (the fencing lease's TTL and margins); DEFAULT_FAILOVER_FENCING when left out. */
  readonly fencing?: FencingParams;
  /** Told each time an active instance here is demoted (fencing events, for the metrics). */
  readonly onDemoted?: (service: string, cause: DemoteCause) => void;
}

/** Runs services on this node. start() after the client API listens; stop() stops every instance. */
export class NodeAgent {
  private leaseId: number | null = null;
  private keepTimer: NodeJS.Timeout | null = null;
  private lastRenewMs = 0;
  private registering = false;
  private renewing = false;
  private stopped = false;
  /** Reports as last written (or to write), by instance id. */
  private readonly reports = new Map<string, InstanceRecord>();
  private readonly dirty = new Set<string>();
  private flushing = false;
  /** What the supervisor was last given, by instance id (an old revision keeps its old spec during a roll-out). */
  private desired = new Map<string, InstanceSpec & { revision: string }>();
  private applying: Promise<void> = Promise.resolve();
  private syncAgain = false;
  private syncQueued = false;
  private offStatus: (() => void) | null = null;
  /** Cold standbys placed here and held unstarted until promoted (FailoverAgent), by instance id. */
  private held = new Map<string, { service: string; revision: string }>();
  /** Whether an instance's spec has a health check (without one, "running" is healthy). */
  private readonly hasCheck = new Map<string, boolean>();

  /** Active-standby services: the fencing lease, one ActiveGuard per instance, hooks, switchovers. */
  readonly failover: FailoverAgent;
  /** Active-standby services with `position`: how caught-up each instance here is, into its report. */
  private readonly positions: PositionProber;

  constructor(private readonly o: NodeAgentOptions) {
    this.positions = new PositionProber((id, p) => this.positionReported(id, p), o.logger.child({ component: "position" }));
    this.failover = new FailoverAgent({
      replica: o.replica, client: o.client, supervisor: o.supervisor, nodeId: o.record.id, logger: o.logger.child({ component: "failover" }),
      params: o.fencing ?? DEFAULT_FAILOVER_FENCING, sync: () => this.sync(),
      env: { PHALANX_ACTIVE_URL: `http://${o.record.clientAddress}/v3/phalanx/active` },
      ...(o.onDemoted === undefined ? {} : { onDemoted: o.onDemoted }),
    });
  }

  start(): void {
    this.offStatus = this.o.supervisor.onStatus((s) => this.onStatus(s));
    this.keepTimer = setInterval(() => void this.keepAlive(), this.renewEveryMs());
    this.keepTimer.unref();
    void this.register();
    this.failover.start();
    this.sync();
  }

  /** Called with the keys of each applied batch: placements of this node or any spec → converge. */
  changed(keys: readonly string[]): void {
    const mine = `${PLACEMENT_PREFIX}${this.o.record.id}/`;
    if (keys.some((k) => k.startsWith(mine) || k.startsWith(SPEC_PREFIX))) this.sync();
    this.failover.changed(keys);
  }

  /** Stops every instance, then removes this node's keys (best effort: the lease expiring does it anyway). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.positions.stop();
    if (this.keepTimer !== null) clearInterval(this.keepTimer);
    this.keepTimer = null;
    await this.applying.catch(() => undefined);
    await this.failover.stop();
    await this.o.supervisor.stopAll();
    // Every instance has stopped acting: the records on the fencing lease may go now (a successor need not wait its TTL).
    await this.failover.revoke().catch((err: unknown) => this.o.logger.warn({ err }, "could not revoke the fencing lease: it expires on its own"));
    this.offStatus?.();
    if (this.leaseId !== null) {
      const ops: AgentWriteOp[] = [...this.reports.keys()].map((id) => ({ delete: instanceKey(this.o.record.id, id) }));
      ops.push({ delete: nodeKey(this.o.record.id) });
      await this.o.client.call("POST", "/v3/phalanx/agent/write", { ops, revokeLease: this.leaseId }, true).then(
        () => this.o.logger.info("node deregistered: instances stopped, keys removed, lease revoked"),
        (err: unknown) => this.o.logger.warn({ err }, "could not remove this node's keys: they vanish when its lease expires"),
      );
    }
  }

  /** Four renewals per TTL: three may fail before the lease is at risk. */
  private renewEveryMs(): number {
    return Math.max(50, Math.floor(this.o.leaseTtlMs / 4));
  }

  private async register(): Promise<void> {
    if (this.registering || this.stopped) return;
    this.registering = true;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        try {
          const lease = await this.o.client.leaseGrant(this.o.leaseTtlMs);
          this.leaseId = lease.id;
          this.lastRenewMs = performance.now();
          // The node key and every report go onto the new lease (the old one's keys are gone or going).
          for (const id of this.reports.keys()) this.dirty.add(id);
          await this.write([{ put: nodeKey(this.o.record.id), value: this.o.record }]);
          this.o.logger.info({ lease: lease.id, ttlMs: lease.ttlMs }, "node registered");
          this.flush();
          return;
        } catch (err) {
          this.leaseId = null;
          if (attempt % 20 === 0) this.o.logger.warn({ err }, "cannot register the node yet; retrying");
          await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** Math.min(attempt, 4))));
        }
      }
    } finally {
      this.registering = false;
    }
  }

  private async keepAlive(): Promise<void> {
    const id = this.leaseId;
    if (id === null || this.stopped || this.renewing) return;
    this.renewing = true; // one keep-alive in flight: a slow leader does not pile them up
    try {
      // One attempt with a deadline of a renewal period: a call stuck on a dying leader must not hold
      // the single renewal slot for a whole TTL; the next period's call finds whoever leads now.
      await this.o.client.leaseKeepAlive(id, { timeoutMs: this.renewEveryMs(), maxAttempts: 1 });
      this.lastRenewMs = performance.now();
    } catch (err) {
      const gone = err instanceof PhalanxError && err.status === 404;
      // Not renewed for a whole TTL: the leader has expired it (or will); register again.
      if (gone || performance.now() - this.lastRenewMs > this.o.leaseTtlMs) {
        if (this.leaseId === id) {
          this.o.logger.warn({ lease: id }, "node lease lost: registering again");
          this.leaseId = null;
          void this.register();
        }
      }
    } finally {
      this.renewing = false;
    }
  }

  private async write(ops: readonly AgentWriteOp[]): Promise<void> {
    if (this.leaseId === null) throw new Error("No node lease yet");
    await this.o.client.call("POST", "/v3/phalanx/agent/write", { ops: ops as never, lease: this.leaseId }, true);
  }

  private onStatus(s: InstanceStatus): void {
    const placed = this.desired.get(s.instanceId);
    if ((s.state === "stopped" || s.state === "failed") && placed === undefined) {
      if (this.reports.delete(s.instanceId)) this.dirty.add(s.instanceId);
      this.hasCheck.delete(s.instanceId);
    } else {
      const old = this.reports.get(s.instanceId);
      this.reports.set(s.instanceId, {
        service: s.service,
        instanceId: s.instanceId,
        node: this.o.record.id,
        host: this.o.record.host,
        revision: placed?.revision ?? old?.revision ?? "",
        state: s.state,
        healthy: reportHealthy(s.state, this.hasCheck.get(s.instanceId) ?? true),
        ports: s.ports,
        restarts: s.restarts,
        startedAtMs: s.startedAtMs,
        message: s.message === "" ? null : s.message,
        ...(old?.position !== undefined ? { position: old.position } : {}),
      });
      this.dirty.add(s.instanceId);
    }
    this.flush();
    this.failover.onStatus(s);
  }

  /** A position command's result: into the instance's report when it changed (null = the command failed). */
  private positionReported(id: string, position: number | null): void {
    const r = this.reports.get(id);
    if (r === undefined || r.position === position || this.stopped) return;
    this.reports.set(id, { ...r, position });
    this.dirty.add(id);
    this.flush();
  }

  /** Writes the changed reports in one request; changes meanwhile wait for the next (coalesced). */
  private flush(): void {
    if (this.flushing || this.dirty.size === 0 || this.leaseId === null || this.stopped) return;
    this.flushing = true;
    const ids = [...this.dirty].slice(0, 60);
    for (const id of ids) this.dirty.delete(id);
    const ops: AgentWriteOp[] = ids.map((id) => {
      const r = this.reports.get(id);
      return r === undefined ? { delete: instanceKey(this.o.record.id, id) } : { put: instanceKey(this.o.record.id, id), value: r };
    });
    this.write(ops)
      .catch((err: unknown) => {
        for (const id of ids) this.dirty.add(id);
        this.o.logger.debug({ err }, "instance reports not written; retrying");
        return new Promise((r) => setTimeout(r, 200));
      })
      .finally(() => {
        this.flushing = false;
        this.flush();
      });
  }

  /** Converges the supervisor to this node's placements (one apply at a time; the latest state wins). */
  private sync(): void {
    if (this.syncQueued) {
      this.syncAgain = true;
      return;
    }
    this.syncQueued = true;
    this.applying = this.applying.then(async () => {
      do {
        this.syncAgain = false;
        if (this.stopped) return;
        this.desired = this.desiredSpecs();
        try {
          const r = await this.o.supervisor.apply([...this.desired.values()].map(({ revision: _r, ...spec }) => spec));
          if (r.started.length + r.replaced.length + r.stopped.length > 0) this.o.logger.info(r, "instances converging to placements");
          this.dropGone();
          this.reportHeld();
        } catch (err) {
          this.o.logger.error({ err }, "cannot apply this node's placements");
        }
      } while (this.syncAgain);
    }).finally(() => {
      this.syncQueued = false;
    });
  }

  /** Reports of instances neither placed here nor known to the supervisor any more (a removed failed one). */
  private dropGone(): void {
    const present = new Set(this.o.supervisor.statuses().map((x) => x.instanceId));
    for (const id of this.reports.keys()) {
      if (this.desired.has(id) || present.has(id) || this.held.has(id)) continue;
      this.reports.delete(id);
      this.hasCheck.delete(id);
      this.dirty.add(id);
    }
    this.flush();
  }

  /**
   * A held cold standby is reported "running" and healthy with a message saying it starts when
   * promoted: it is ready, so roll-outs and the scheduler's start bound treat it as a placed replica
   * (the proxy routes an active-standby service to the active's node only).
   */
  private reportHeld(): void {
    const present = new Set(this.o.supervisor.statuses().map((x) => x.instanceId));
    for (const [id, h] of this.held) {
      if (present.has(id)) continue;
      const old = this.reports.get(id);
      if (old?.state === "running" && old.message === COLD_STANDBY_MESSAGE && old.revision === h.revision) continue;
      this.reports.set(id, {
        service: h.service, instanceId: id, node: this.o.record.id, host: this.o.record.host, revision: h.revision,
        state: "running", healthy: true, ports: {}, restarts: 0, startedAtMs: null, message: COLD_STANDBY_MESSAGE,
      });
      this.dirty.add(id);
    }
    this.flush();
  }

  private desiredSpecs(): Map<string, InstanceSpec & { revision: string }> {
    const r = this.o.replica;
    const specs = new Map<string, SpecRecord>();
    for (const kv of r.localPrefix(SPEC_PREFIX)) {
      const s = decodeRecord<SpecRecord>(kv);
      if (s !== null) specs.set(kv.key.slice(SPEC_PREFIX.length), s);
    }
    const next = new Map<string, InstanceSpec & { revision: string }>();
    const probes = new Map<string, Omit<PositionTarget, "env">>();
    for (const kv of r.localPrefix(`${PLACEMENT_PREFIX}${this.o.record.id}/`)) {
      const p = decodeRecord<PlacementRecord>(kv);
      if (p === null) continue;
      const stored = specs.get(p.service);
      const running = this.desired.get(p.instanceId);
      if (stored?.revision !== p.revision && running?.revision === p.revision) {
        next.set(p.instanceId, running); // an old revision during a roll-out keeps what it runs
        continue;
      }
      const spec = this.specFor(p, stored);
      if (spec === null) continue;
      next.set(p.instanceId, { ...instanceSpecFromService(spec, p.instanceId), revision: p.revision });
      this.hasCheck.set(p.instanceId, spec.healthCheck !== undefined);
      if (spec.mode === "active-standby" && spec.position !== undefined) probes.set(p.instanceId, { service: p.service, config: spec.position, ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}) });
    }
    const placed = new Map(next);
    const desired = this.failover.adjust(next, new Map([...specs].map(([name, rec]) => [name, rec.spec])));
    // Instances that run here (a held cold standby has nothing to ask), in the environment they run with.
    this.positions.track(new Map([...probes].flatMap(([id, t]) => {
      const d = desired.get(id);
      if (d === undefined) return [];
      const env = () => instanceEnv(d, this.reports.get(id)?.ports ?? {}, { PATH: process.env.PATH ?? "/usr/bin:/bin" });
      return [[id, { ...t, env }] as const];
    })));
    this.held = new Map([...placed].filter(([id]) => !desired.has(id) && this.failover.isHeldCold(id)).map(([id, d]) => [id, { service: d.service, revision: d.revision }]));
    return desired;
  }

  /** The spec of a placement's revision: the stored one, else the roll-out's previous one, else the stored one anyway. */
  private specFor(p: PlacementRecord, stored: SpecRecord | undefined): ServiceSpec | null {
    if (stored !== undefined && stored.revision === p.revision) return stored.spec;
    const kv = this.o.replica.localPrefix(`${ROLLOUT_PREFIX}${p.service}`).find((k) => k.key === `${ROLLOUT_PREFIX}${p.service}`);
    const rollout = kv === undefined ? null : decodeRecord<RolloutRecord>(kv);
    if (rollout?.previousRevision === p.revision && rollout.previousSpec) return rollout.previousSpec;
    return stored?.spec ?? null;
  }
}
