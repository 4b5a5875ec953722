// Delivers the outbox on the leader. Each channel delivers on its own (up to concurrencyPerChannel
// at once, one per fingerprint so a "resolved" never overtakes its "firing"), every attempt under a
// deadline, so a slow or dead receiver only delays its own channel. A failure is retried with
// capped exponential backoff; a delivered item is deleted through Raft.
//
// At least once: an item is deleted only after its receiver accepted it. If leadership moves
// between the delivery and the commit of the deletion (or a deadline fired while the receiver was
// in fact accepting), the next leader delivers it again — the one case where a receiver gets an
// alert twice. Receivers can deduplicate on the fingerprint and status.
import type { Logger } from "pino";
import type { AlertChannel } from "./channel.js";
import { sendWithTimeout } from "./channel.js";
import type { DeliveryPolicy } from "./config.js";
import { deliverable, retryDelayMs } from "./core/outbox-plan.js";
import type { OutboxItem } from "./core/outbox-plan.js";
import type { AlertOutbox } from "./outbox.js";

/** The outcome of one delivery attempt (tests, logs). */
export interface AttemptResult {
  readonly channel: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly status: "firing" | "resolved";
  /** 1 for the first attempt of this item on this leader. */
  readonly attempt: number;
  readonly ok: boolean;
  readonly error?: string;
}

/** Bound on the items remembered as "delivered, deletion not yet committed". */
const MAX_DELIVERED_UNDELETED = 10_000;

interface Retry {
  readonly failures: number;
  readonly nextAtMs: number;
}

/** The leader's delivery loop. start() on becoming leader, stop() on losing it. */
export class AlertDispatcher {
  private running = false;
  private scanTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private kickPending = false;
  private readonly inFlight = new Map<string, Set<string>>();
  private readonly retries = new Map<string, Retry>();
  /** Delivered here, deletion not committed yet: never delivered again by this leader. */
  private readonly delivered = new Set<string>();
  private readonly removing = new Set<string>();

  constructor(private readonly options: {
    readonly outbox: AlertOutbox;
    readonly channels: readonly AlertChannel[];
    readonly policy: DeliveryPolicy;
    readonly logger: Logger;
    readonly isLeader: () => boolean;
    readonly nowMs?: () => number;
    readonly onAttempt?: (result: AttemptResult) => void;
  }) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scanTimer = setInterval(() => this.scan(), this.options.policy.scanIntervalMs);
    this.scanTimer.unref?.();
    this.kick();
  }

  /** Stops starting deliveries; attempts under way finish (their deadlines bound them). */
  stop(): void {
    this.running = false;
    if (this.scanTimer !== null) clearInterval(this.scanTimer);
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.scanTimer = this.wakeTimer = null;
    this.retries.clear();
    this.delivered.clear();
  }

  /** Looks at the outbox soon (after an enqueue or a finished attempt). */
  kick(): void {
    if (this.kickPending || !this.running) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      this.scan();
    });
  }

  /** Deliveries in flight, all channels. */
  get inFlightCount(): number {
    let n = 0;
    for (const s of this.inFlight.values()) n += s.size;
    return n;
  }

  private now(): number {
    return (this.options.nowMs ?? (() => performance.now()))();
  }

  private scan(): void {
    if (!this.running || !this.options.isLeader()) return;
    const items = this.options.outbox.pending();
    const now = this.now();
    let earliestRetryMs = Infinity;
    for (const channel of this.options.channels) {
      const busy = this.inFlight.get(channel.name) ?? new Set<string>();
      this.inFlight.set(channel.name, busy);
      for (const item of deliverable(items.filter((i) => i.channel === channel.name), busy)) {
        if (busy.size >= this.options.policy.concurrencyPerChannel) break;
        if (this.delivered.has(item.key)) {
          this.removeDelivered(item.key);
          continue;
        }
        const retry = this.retries.get(item.key);
        if (retry !== undefined && retry.nextAtMs > now) {
          earliestRetryMs = Math.min(earliestRetryMs, retry.nextAtMs);
          continue;
        }
        void this.deliver(channel, item, busy, (retry?.failures ?? 0) + 1);
      }
    }
    if (earliestRetryMs !== Infinity) this.wakeAt(earliestRetryMs - now);
  }

  private wakeAt(delayMs: number): void {
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.scan();
    }, Math.max(0, delayMs));
    this.wakeTimer.unref?.();
  }

  private async deliver(channel: AlertChannel, item: OutboxItem, busy: Set<string>, attempt: number): Promise<void> {
    const { alert } = item;
    const log = this.options.logger;
    busy.add(alert.fingerprint);
    const report = (ok: boolean, error?: string): void =>
      this.options.onAttempt?.({ channel: channel.name, key: item.key, fingerprint: alert.fingerprint, status: alert.status, attempt, ok, ...(error === undefined ? {} : { error }) });
    try {
      await sendWithTimeout(channel, alert, this.options.policy.timeoutMs);
      report(true);
      log.info({ channel: channel.name, alert: alert.name, status: alert.status, fingerprint: alert.fingerprint, attempt }, "alert delivered");
      this.retries.delete(item.key);
      if (this.delivered.size < MAX_DELIVERED_UNDELETED) this.delivered.add(item.key);
      this.removeDelivered(item.key);
    } catch (err) {
      const message = (err as Error).message;
      report(false, message);
      if (attempt >= this.options.policy.maxAttempts) {
        log.error({ channel: channel.name, alert: alert.name, fingerprint: alert.fingerprint, err }, `Giving up on alert ${alert.name} (${alert.status}) for channel ${channel.name} after ${attempt} attempts: ${message}`);
        this.retries.delete(item.key);
        await this.options.outbox.remove(item.key).catch((e: unknown) => log.warn({ err: e }, "Cannot drop an abandoned alert from the outbox; a later leader will retry it"));
      } else {
        const delayMs = retryDelayMs(attempt, { initialMs: this.options.policy.backoffInitialMs, maxMs: this.options.policy.backoffMaxMs });
        this.retries.set(item.key, { failures: attempt, nextAtMs: this.now() + delayMs });
        log.warn({ channel: channel.name, alert: alert.name, fingerprint: alert.fingerprint, attempt, retryInMs: delayMs }, `Alert delivery failed, retrying: ${message}`);
      }
    } finally {
      busy.delete(alert.fingerprint);
      this.kick();
    }
  }

  private removeDelivered(key: string): void {
    if (this.removing.has(key)) return;
    this.removing.add(key);
    this.options.outbox.remove(key).then(
      () => {
        this.delivered.delete(key);
        // The next item of the same fingerprint (a "resolved" behind its "firing") may go now, not at the next scan.
        this.kick();
      },
      (err: unknown) => this.options.logger.warn({ err, key }, "Alert delivered but its outbox entry could not be deleted yet; if leadership moves now, the next leader delivers it again"),
    ).finally(() => this.removing.delete(key));
  }
}
