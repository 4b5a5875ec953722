// A live backend pool: implements BackendPool over a changing set of backends. It filters by
// health (active checks and outlier ejection), keeps in-flight counts from begin()/finish, drains
// removed backends (no new picks; dropped once their in-flight attempts end) and holds the retry
// budget. Time and randomness are injected so that tests drive it without sleeping.
import { createBalancer } from "../balance/create.js";
import type { Balancer, RandomInt } from "../balance/types.js";
import { decideActive, initialActiveState } from "../health/decideActive.js";
import { decideOutlier, INITIAL_OUTLIER_STATE, type OutlierObservation } from "../health/decideOutlier.js";
import type { AttemptOutcome, BackendEndpoint, BackendPool, FinishAttempt, HashOn, PickRequest } from "../types.js";
import type { PoolSpec } from "../../config/proxy.js";
import type { HealthCheckSpec } from "../../config/health.js";
import { Member, type CheckHandle } from "./member.js";
import { RetryBudget } from "./retryBudget.js";

/** Events of a pool, for metrics and logs. */
export interface PoolObserver {
  backendHealthChanged(pool: string, backendId: string, up: boolean): void;
  backendEjected(pool: string, backendId: string, ejectionMs: number): void;
  backendEjectionRefused(pool: string, backendId: string): void;
  backendReturned(pool: string, backendId: string): void;
  backendRemoved(pool: string, backendId: string): void;
}

/** Starts an active check of one backend; `onResult` is called after every check. */
export type CheckStarter = (spec: HealthCheckSpec, target: BackendEndpoint, onResult: (ok: boolean, detail: string) => void) => CheckHandle;

/** What a pool needs from its surroundings. */
export interface PoolDeps {
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly randomInt: RandomInt;
  readonly observer?: PoolObserver;
  /** Starts active checks; pools without it (or without a healthCheck) trust their backends. */
  readonly startCheck?: CheckStarter;
}

const NO_EXCLUDE: ReadonlySet<string> = new Set();
const NOOP_FINISH: FinishAttempt = () => {};

/** A BackendPool fed by config or the store. */
export class Pool implements BackendPool {
  readonly name: string;
  private spec: PoolSpec;
  private balancer: Balancer;
  private readonly members = new Map<string, Member>();
  private eligible: readonly Member[] = [];
  private nextReturnAtMs = Infinity;
  private readonly budget: RetryBudget;
  private drainWaiters: Array<() => void> = [];
  /** Backends of the first config are trusted up; later joiners wait for their first check. */
  private started = false;

  constructor(spec: PoolSpec, private readonly deps: PoolDeps) {
    this.name = spec.name;
    this.spec = spec;
    this.balancer = createBalancer(spec.algorithm, deps.randomInt);
    this.budget = new RetryBudget(spec.retry);
    this.setBackends(spec.backends);
    this.started = true;
  }

  get hashOn(): HashOn {
    return this.spec.hashOn;
  }

  get maxAttempts(): number {
    return this.spec.retry.maxAttempts;
  }

  /** The current settings. */
  get settings(): PoolSpec {
    return this.spec;
  }

  pick(request: PickRequest, exclude: ReadonlySet<string> = NO_EXCLUDE): BackendEndpoint | null {
    // The clock is read only while some backend is ejected.
    if (this.nextReturnAtMs !== Infinity && this.deps.now() >= this.nextReturnAtMs) this.returnEjected();
    let candidates = this.eligible;
    if (exclude.size > 0) candidates = candidates.filter((m) => !exclude.has(m.id));
    const key = this.spec.hashOn.kind === "header" || this.spec.hashOn.kind === "cookie" ? (request.hashKey ?? request.clientIp) : request.clientIp;
    return this.balancer.pick(candidates, key)?.endpoint ?? null;
  }

  begin(backendId: string, nowMs?: number): FinishAttempt {
    const member = this.members.get(backendId);
    this.budget.recordRequest(nowMs ?? this.deps.now());
    if (member === undefined) return NOOP_FINISH;
    member.active += 1;
    let done = false;
    return (outcome: AttemptOutcome) => {
      if (done) return;
      done = true;
      this.finish(member, outcome);
    };
  }

  tryAcquireRetry(): boolean {
    return this.budget.tryAcquire(this.deps.now());
  }

  /** Backends by id with their state, for status pages and tests. */
  snapshot(): Array<{ id: string; active: number; draining: boolean; health: "up" | "down"; ejected: boolean }> {
    return [...this.members.values()].map((m) => ({ id: m.id, active: m.active, draining: m.draining, health: m.activeHealth.status, ejected: m.ejected }));
  }

  /** Applies new settings and backends; in-flight attempts are not disturbed. */
  update(spec: PoolSpec): void {
    const checkChanged = JSON.stringify(spec.healthCheck) !== JSON.stringify(this.spec.healthCheck);
    if (spec.algorithm !== this.spec.algorithm) this.balancer = createBalancer(spec.algorithm, this.deps.randomInt);
    this.spec = spec;
    this.budget.setPolicy(spec.retry);
    if (spec.outlier === null) {
      // Outlier detection turned off: nobody stays ejected by a policy that no longer exists.
      for (const m of this.members.values()) m.outlier = INITIAL_OUTLIER_STATE;
      this.nextReturnAtMs = Infinity;
    }
    if (checkChanged) for (const m of this.members.values()) if (!m.draining) this.restartCheck(m);
    this.setBackends(spec.backends);
  }

  /**
   * Makes `backends` the pool's set: new ones join, changed weights apply at once, missing ones
   * drain. A draining backend that comes back is taken back into service.
   */
  setBackends(backends: readonly BackendEndpoint[]): void {
    const now = this.deps.now();
    const wanted = new Map(backends.map((b) => [b.id, b]));
    for (const [id, endpoint] of wanted) {
      const m = this.members.get(id);
      if (m === undefined) {
        const member = new Member(endpoint, initialActiveState(now, this.joinStatus()), INITIAL_OUTLIER_STATE);
        this.members.set(id, member);
        this.restartCheck(member);
        continue;
      }
      const moved = m.endpoint.host !== endpoint.host || m.endpoint.port !== endpoint.port;
      m.endpoint = endpoint;
      if (m.draining || moved) {
        m.draining = false;
        if (moved) {
          m.activeHealth = initialActiveState(now, this.joinStatus());
          m.outlier = INITIAL_OUTLIER_STATE;
        }
        this.restartCheck(m);
      }
    }
    for (const m of this.members.values()) {
      if (!wanted.has(m.id) && !m.draining) {
        m.draining = true;
        this.stopCheck(m);
        if (m.active === 0) this.drop(m);
      }
    }
    this.refresh();
    this.settleDrain();
  }

  /** Health a joining backend starts with: down until checked, when it will be checked at all. */
  private joinStatus(): "up" | "down" {
    return this.started && this.spec.healthCheck !== null && this.deps.startCheck !== undefined ? "down" : "up";
  }

  /** Resolves once no removed backend has attempts in flight. */
  drained(): Promise<void> {
    if (![...this.members.values()].some((m) => m.draining)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Drains every backend and stops all checks; resolves when the last attempt has ended. */
  close(): Promise<void> {
    this.setBackends([]);
    return this.drained();
  }

  private finish(member: Member, outcome: AttemptOutcome): void {
    member.active -= 1;
    if (member.draining) {
      if (member.active === 0) {
        this.drop(member);
        this.settleDrain();
      }
      return;
    }
    // Fast path: a success on a backend with no failures to forget changes nothing.
    if (outcome === "success" && member.outlier.consecutiveFailures === 0) return;
    if (this.spec.outlier !== null) this.observeOutlier(member, { kind: "attempt", outcome });
  }

  private observeOutlier(member: Member, observation: OutlierObservation): void {
    const policy = this.spec.outlier;
    if (policy === null) return;
    const now = this.deps.now();
    let poolSize = 0;
    let ejectedCount = 0;
    for (const m of this.members.values()) {
      if (m.draining) continue;
      poolSize += 1;
      if (m.ejected && m !== member) ejectedCount += 1;
    }
    const { state, decision } = decideOutlier(member.outlier, observation, now, policy, { poolSize, ejectedCount });
    member.outlier = state;
    switch (decision.kind) {
      case "eject":
        this.nextReturnAtMs = Math.min(this.nextReturnAtMs, decision.untilMs);
        this.refresh();
        this.deps.observer?.backendEjected(this.name, member.id, decision.ejectionMs);
        break;
      case "eject_refused":
        this.deps.observer?.backendEjectionRefused(this.name, member.id);
        break;
      case "return":
        this.refresh();
        this.deps.observer?.backendReturned(this.name, member.id);
        break;
      case "none":
        break;
    }
  }

  private returnEjected(): void {
    this.nextReturnAtMs = Infinity;
    for (const m of this.members.values()) {
      if (m.ejected) this.observeOutlier(m, { kind: "tick" });
      const until = m.outlier.ejectedUntilMs;
      if (until !== null) this.nextReturnAtMs = Math.min(this.nextReturnAtMs, until);
    }
  }

  private restartCheck(member: Member): void {
    this.stopCheck(member);
    const check = this.spec.healthCheck;
    const start = this.deps.startCheck;
    if (check === null || start === undefined) {
      if (member.activeHealth.status === "down") member.activeHealth = initialActiveState(this.deps.now());
      return;
    }
    const epoch = member.checkEpoch;
    member.checker = start(check, member.endpoint, (ok) => {
      if (member.checkEpoch !== epoch || member.draining) return;
      const current = this.spec.healthCheck;
      if (current === null) return;
      const { state, decision } = decideActive(member.activeHealth, { ok }, this.deps.now(), current);
      member.activeHealth = state;
      if (decision === "none") return;
      this.refresh();
      this.deps.observer?.backendHealthChanged(this.name, member.id, decision === "became_up");
    });
  }

  private stopCheck(member: Member): void {
    member.checkEpoch += 1;
    member.checker?.stop();
    member.checker = null;
  }

  private drop(member: Member): void {
    this.members.delete(member.id);
    this.deps.observer?.backendRemoved(this.name, member.id);
  }

  private settleDrain(): void {
    if (this.drainWaiters.length === 0) return;
    if ([...this.members.values()].some((m) => m.draining)) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Rebuilds the eligible list; a new array tells the balancer the set changed. */
  private refresh(): void {
    this.eligible = [...this.members.values()].filter((m) => m.eligible);
  }
}
