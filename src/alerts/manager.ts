// The leader's alerting: turns what the leader observes into events for the pure rules
// (core/rules.ts), records each alert change in the replicated outbox (outbox.ts) and runs the
// delivery loop (dispatcher.ts). Every node runs one; only the leader's is active. On becoming
// leader it first waits for a read barrier, so its store holds every outbox item and firing alert
// its predecessors committed, then loads the firing alerts so it does not raise them again.
//
// Observed here: peer links (node down/up), a long leaderless period seen by the new leader (quorum
// lost/regained), this node's WAL fsync p99 (slow disk), the members' clock skews (sampled each
// second). The failover, flapping and service-health rules take events from observe() (controllers).
import type { Logger } from "pino";
import type { AlertChannel } from "./channel.js";
import { sendWithTimeout } from "./channel.js";
import type { AlertsConfig } from "./config.js";
import { firingAlert } from "./core/model.js";
import type { Alert } from "./core/model.js";
import { SampleWindow } from "./core/percentile.js";
import { ALERT_NAMES, applyEvent, initialRuleState } from "./core/rules.js";
import type { ClusterEvent, RuleOptions, RuleState } from "./core/rules.js";
import { AlertDispatcher } from "./dispatcher.js";
import type { AttemptResult } from "./dispatcher.js";
import { AlertOutbox } from "./outbox.js";
import type { AlertReplica } from "./outbox.js";

/** The fsync samples the slow-disk rule looks at, and how many it needs before it judges. */
export const FSYNC_WINDOW_SAMPLES = 256;
export const FSYNC_MIN_SAMPLES = 20;
/** Bound on events waiting for the rules (a burst beyond it is dropped with a log line). */
export const MAX_QUEUED_EVENTS = 1_000;

/** One channel's answer to `phalanx alerts test`. */
export interface TestResult {
  readonly channel: string;
  readonly kind: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly elapsedMs: number;
}

/** What `GET /v3/phalanx/alerts` shows. */
export interface AlertsView {
  readonly active: readonly Alert[];
  readonly pending: readonly { channel: string; name: string; fingerprint: string; status: string }[];
}

/** What the manager needs. */
export interface AlertManagerOptions {
  readonly replica: AlertReplica;
  readonly config: AlertsConfig;
  readonly channels: readonly AlertChannel[];
  readonly clusterId: string;
  readonly logger: Logger;
  /** The peer links as the transport sees them (TlsTransport/MemoryTransport stats().peers). */
  readonly peerLinks?: () => readonly { readonly id: number; readonly connected: boolean }[];
  /** Each member's wall clock minus the leader's, as the leader measured it (server/clock-skew.ts). */
  readonly clockSkews?: () => readonly { readonly node: number; readonly skewMs: number }[];
  /** Wall clock for alert times (epoch ms). */
  readonly wallMs?: () => number;
  /** Told of every delivery attempt (tests). */
  readonly onAttempt?: (result: AttemptResult) => void;
}

/** The alerting of one node. start() once; stop() before exit. */
export class AlertManager {
  private readonly outbox: AlertOutbox;
  private readonly dispatcher: AlertDispatcher;
  private readonly ruleOptions: RuleOptions;
  private readonly fsyncWindow = new SampleWindow(FSYNC_WINDOW_SAMPLES);
  private readonly log: Logger;
  /** Rule state while this node is the active (leader) manager; null otherwise. */
  private state: RuleState | null = null;
  private activation = 0;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private sampleTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private seenLeader = false;
  private leaderlessSinceMs: number | null = null;

  constructor(private readonly options: AlertManagerOptions) {
    this.log = options.logger;
    this.outbox = new AlertOutbox(options.replica, options.channels.map((c) => c.name), options.config.delivery.maxPendingPerChannel, options.logger);
    this.dispatcher = new AlertDispatcher({
      outbox: this.outbox, channels: options.channels, policy: options.config.delivery, logger: options.logger,
      isLeader: () => this.isLeader(), ...(options.onAttempt === undefined ? {} : { onAttempt: options.onAttempt }),
    });
    this.ruleOptions = { thresholds: options.config.thresholds, commonLabels: { cluster: options.clusterId } };
  }

  start(): void {
    this.unsubscribe = this.options.replica.onLeaderChange((leader) => this.leaderChanged(leader));
    this.sampleTimer = setInterval(() => this.sample(), this.options.config.delivery.sampleIntervalMs);
    this.sampleTimer.unref?.();
    if (this.isLeader()) this.leaderChanged(this.options.replica.id);
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.sampleTimer !== null) clearInterval(this.sampleTimer);
    this.sampleTimer = null;
    this.deactivate();
  }

  /** Feeds an event to the rules. Ignored on a node that is not the active leader. */
  observe(event: ClusterEvent): void {
    if (this.state === null) return;
    if (this.queued >= MAX_QUEUED_EVENTS) {
      this.log.warn({ event: event.type }, `Alert event queue full (${MAX_QUEUED_EVENTS}): dropping a ${event.type} event`);
      return;
    }
    this.queued++;
    const activation = this.activation;
    this.chain = this.chain
      .then(() => this.step(event, activation))
      .catch((err: unknown) => this.log.error({ err, event: event.type }, `Alert rules failed on a ${event.type} event (a bug): the event is skipped`))
      .finally(() => this.queued--);
  }

  /** Tells the slow-disk rule of one WAL fsync (compose with the metrics' observer). */
  fsync(seconds: number): void {
    this.fsyncWindow.add(seconds * 1000);
  }

  /** Sends a test alert straight through every channel (not through the outbox) and reports each outcome. */
  async sendTest(): Promise<TestResult[]> {
    const nonce = Math.floor(this.wallMs()).toString(36);
    const alert = firingAlert({
      name: ALERT_NAMES.test, severity: "info", labels: { node: String(this.options.replica.id), test_id: nonce },
      summary: "Test alert from Phalanx", description: `Sent by \`phalanx alerts test\` through node ${this.options.replica.id}: this channel works`,
    }, this.wallMs(), { cluster: this.options.clusterId });
    return Promise.all(this.options.channels.map(async (channel) => {
      const started = performance.now();
      const elapsed = (): number => Math.round(performance.now() - started);
      try {
        await sendWithTimeout(channel, alert, this.options.config.delivery.timeoutMs);
        return { channel: channel.name, kind: channel.kind, ok: true, elapsedMs: elapsed() };
      } catch (err) {
        return { channel: channel.name, kind: channel.kind, ok: false, error: (err as Error).message, elapsedMs: elapsed() };
      }
    }));
  }

  /** The firing alerts and the pending deliveries as this node's store holds them (read it after a read barrier for a current view). */
  view(): AlertsView {
    return {
      active: this.outbox.activeAlerts(),
      pending: this.outbox.pending().map((i) => ({ channel: i.channel, name: i.alert.name, fingerprint: i.alert.fingerprint, status: i.alert.status })),
    };
  }

  /** Resolves when the events observed so far are recorded in the outbox (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  /** True while this node's manager is active (leader, after its read barrier). */
  get active(): boolean {
    return this.state !== null;
  }

  private wallMs(): number {
    return (this.options.wallMs ?? Date.now)();
  }

  private isLeader(): boolean {
    return this.options.replica.status().role === "leader";
  }

  private leaderChanged(leader: number): void {
    const now = this.wallMs();
    if (leader === 0) {
      if (this.seenLeader && this.leaderlessSinceMs === null) this.leaderlessSinceMs = now;
      this.deactivate();
      return;
    }
    this.seenLeader = true;
    const leaderlessSince = this.leaderlessSinceMs;
    this.leaderlessSinceMs = null;
    if (leader !== this.options.replica.id) return this.deactivate();
    void this.activate(leaderlessSince === null ? null : { sinceMs: leaderlessSince, lastedMs: now - leaderlessSince });
  }

  private async activate(leaderless: { sinceMs: number; lastedMs: number } | null): Promise<void> {
    const activation = ++this.activation;
    try {
      await this.options.replica.linearizableBarrier();
    } catch (err) {
      if (activation === this.activation) this.log.warn({ err }, "Alerting not started: the new leader's read barrier failed (it probably lost leadership)");
      return;
    }
    if (activation !== this.activation || !this.isLeader()) return;
    this.state = initialRuleState(this.outbox.activeAlerts());
    this.dispatcher.start();
    this.log.info({ firing: this.state.active.size, pending: this.outbox.pending().length }, "alerting active on this leader");
    if (leaderless !== null && leaderless.lastedMs >= this.options.config.delivery.quorumLostAfterMs) {
      this.observe({ type: "quorum_lost", sinceMs: leaderless.sinceMs, detail: `no leader for ${Math.round(leaderless.lastedMs)} ms` });
      this.observe({ type: "quorum_regained", detail: `node ${this.options.replica.id} elected leader` });
    }
  }

  private deactivate(): void {
    this.activation++;
    this.state = null;
    this.dispatcher.stop();
  }

  private async step(event: ClusterEvent, activation: number): Promise<void> {
    if (this.state === null || activation !== this.activation) return;
    const { state, changes } = applyEvent(this.state, event, this.wallMs(), this.ruleOptions);
    this.state = state;
    for (const alert of changes) {
      try {
        await this.outbox.record(alert);
        this.log.info({ alert: alert.name, status: alert.status, fingerprint: alert.fingerprint, labels: alert.labels }, `alert ${alert.status}: ${alert.annotations.summary}`);
      } catch (err) {
        // Not committed: a new leader re-derives node, quorum and disk alerts from what it observes.
        this.log.error({ err, alert: alert.name, status: alert.status }, `Cannot record alert ${alert.name} (${alert.status}) in the outbox: it is not delivered`);
      }
    }
    if (changes.length > 0) this.dispatcher.kick();
  }

  /** Periodic observations of the leader: peer links, the fsync window, clock skews, the passing of time. */
  private sample(): void {
    if (this.state === null) return;
    const status = this.options.replica.status();
    const links = new Map((this.options.peerLinks?.() ?? []).map((p) => [p.id, p.connected]));
    for (const id of [...status.confState.voters, ...status.confState.learners]) {
      if (id === this.options.replica.id) continue;
      this.observe({ type: "peer_seen", node: String(id), connected: links.get(id) ?? false });
    }
    const p99 = this.fsyncWindow.quantile(0.99);
    if (p99 !== undefined && this.fsyncWindow.size >= FSYNC_MIN_SAMPLES) {
      this.observe({ type: "fsync_p99", node: String(this.options.replica.id), p99Ms: p99, samples: this.fsyncWindow.size });
    }
    for (const k of this.options.clockSkews?.() ?? []) this.observe({ type: "clock_skew", node: String(k.node), skewMs: k.skewMs });
    this.observe({ type: "tick" });
  }
}
