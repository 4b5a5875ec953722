// The leader's service controller: whenever a services key changes (and every CONTROLLER_TICK_MS),
// it reads the local store, runs the pure scheduler (src/scheduler) and writes the plan as placement
// keys in ONE txn guarded by what it read — every spec's mod revision, every placement it removes,
// every placement it creates (absent) — so a plan made from a stale view never lands. It names new
// instances, persists a failed roll-out's halt, forgets failed instances after FAILED_FORGET_MS, and
// records events (bounded by MAX_EVENTS). Replacements of failed instances back off per service
// (replacement-backoff.ts), so a crashing or flapping service cannot cause a storm. It runs only while this node leads; a new leader resumes
// from the store alone (its memory holds only which events it already wrote).
import type { Logger } from "pino";
import type { TxnOp, TxnRequest } from "../../kv/store.js";
import { prefixEnd } from "../../kv/store.js";
import { schedule } from "../../scheduler/schedule.js";
import type { Plan } from "../../scheduler/types.js";
import type { Replica } from "../replica.js";
import { instanceStateEvents, serviceHealthEvents, type AlertSink } from "./controller-alerts.js";
import { changeEvents, MAX_EVENTS_PER_ROUND, planEvents, problemEvents } from "./controller-events.js";
import {
  encodeRecord, EVENT_PREFIX, eventKey, eventSeq, MAX_EVENTS, placementKey, rolloutKey, SERVICES_PREFIX,
  type EventRecord, type PlacementRecord, type RolloutRecord,
} from "./layout.js";
import { ReplacementBackoff } from "./replacement-backoff.js";
import { LeaderRounds } from "./leader-rounds.js";
import { readServicesView, schedulerInput, type ServicesView } from "./view.js";

/** A round also runs this often without any change (failed instances are forgotten on time). */
export const CONTROLLER_TICK_MS = 1000;
/** A failed instance's placement is removed this long after it was first seen failed (the scheduler replaced it meanwhile). */
export const FAILED_FORGET_MS = 30_000;
/** Most placement changes one round writes (a txn holds at most 128 ops and as many compares). */
export const MAX_PLACEMENT_CHANGES_PER_ROUND = 40;

export interface ControllerOptions {
  readonly replica: Replica;
  readonly logger: Logger;
  /** Wall-clock ms (event times). */
  readonly nowMs?: () => number;
  /** Told of instance state changes and service health (the agent's AlertManager). */
  readonly alerts?: AlertSink;
}

/** Runs the scheduler on the leader. start(), then feed it changed keys; stop() when the node stops. */
export class ServiceController {
  private readonly rounds: LeaderRounds;
  private lastView: ServicesView | null = null;
  private readonly toldProblems = new Set<string>();
  /** healthy/total per service as last told to the alert rules. */
  private readonly toldHealth = new Map<string, string>();
  private readonly failedSince = new Map<string, number>();
  private readonly backoff = new ReplacementBackoff();
  /** New instances of rolling services not healthy yet: when this leader first saw them so. */
  private readonly unhealthySince = new Map<string, number>();
  private readonly nowMs: () => number;

  constructor(private readonly o: ControllerOptions) {
    this.nowMs = o.nowMs ?? (() => Date.now());
    this.rounds = new LeaderRounds({
      tickMs: CONTROLLER_TICK_MS,
      isLeader: () => o.replica.status().role === "leader",
      onNotLeader: () => {
        this.lastView = null; // a later term starts over from the store
        this.toldHealth.clear();
      },
      round: () => this.round(),
      logger: o.logger,
      what: "controller",
    });
  }

  start(): void {
    this.rounds.start();
  }

  stop(): void {
    this.rounds.stop();
  }

  /** Called with the keys of each applied batch: a change under /phalanx/ (events aside) starts a round. */
  changed(keys: readonly string[]): void {
    if (keys.some((k) => k.startsWith(SERVICES_PREFIX) && !k.startsWith(EVENT_PREFIX) && !k.startsWith("/phalanx/members/") && !k.startsWith("/phalanx/cluster/"))) this.poke();
  }

  /** Runs a round now, or once more after the one running. */
  poke(): void {
    this.rounds.poke();
  }

  private async round(): Promise<void> {
    const replica = this.o.replica;
    const view = readServicesView((p) => replica.localPrefix(p), replica.kv.revision);
    const now = this.nowMs();
    const { plan } = this.backoff.hold(schedule(schedulerInput(view)), now);
    const forget = this.failedToForget(view, now);
    const ids = plan.start.map((s, k) => `${s.service}-${view.revision.toString(36)}-${k}`);
    const halts = this.haltsToPersist(view, plan, now);
    if (plan.start.length + plan.stop.length + forget.length + halts.length > 0) {
      const txn = planTxn(view, plan, ids, forget, halts);
      const r = await replica.propose({ type: "txn", ...txn });
      if (!r.ok) {
        // Refused by the store (a bound): the next tick tries again rather than looping at once.
        this.o.logger.warn({ code: r.code }, `the store refused the plan: ${r.message}`);
        return;
      }
      if (r.type !== "txn" || !r.succeeded) {
        this.o.logger.debug("the store changed while planning: planning again");
        this.rounds.requestAnother();
        return;
      }
      this.backoff.record(plan, now);
      this.o.logger.info({ start: plan.start.length, stop: plan.stop.length, forget: forget.length }, "applied a scheduler plan");
    }
    if (this.o.alerts !== undefined) {
      for (const e of [...instanceStateEvents(this.lastView, view), ...serviceHealthEvents(view, this.toldHealth)]) this.o.alerts.observe(e);
    }
    const events = [...changeEvents(this.lastView, view, now), ...planEvents(plan, ids, now), ...problemEvents(plan, this.toldProblems, now)];
    this.lastView = view;
    if (events.length > 0) await this.writeEvents(events.slice(0, MAX_EVENTS_PER_ROUND));
  }

  /** Failed placements seen failed for FAILED_FORGET_MS. */
  private failedToForget(view: ServicesView, now: number): string[] {
    const forget: string[] = [];
    for (const [id] of view.placements) {
      if (view.instances.get(id)?.value.state !== "failed") {
        this.failedSince.delete(id);
        continue;
      }
      const since = this.failedSince.get(id) ?? now;
      this.failedSince.set(id, since);
      if (now - since >= FAILED_FORGET_MS) forget.push(id);
    }
    for (const id of this.failedSince.keys()) if (!view.placements.has(id)) this.failedSince.delete(id);
    return forget;
  }

  /**
   * A failing roll-out is halted in the store, so it stays halted after its failed record is
   * forgotten: on the scheduler's rollout_failed, or when a new instance of a rolling service has not
   * been healthy within the spec's update.healthyDeadlineMs since this leader first saw it.
   */
  private haltsToPersist(view: ServicesView, plan: Plan, now: number): { service: string; record: RolloutRecord }[] {
    const out: { service: string; record: RolloutRecord }[] = [];
    const failing = new Set(plan.problems.filter((p) => p.code === "rollout_failed").map((p) => p.service));
    for (const name of this.pastHealthyDeadline(view, now)) failing.add(name);
    for (const service of failing) {
      const spec = view.specs.get(service);
      if (spec === undefined) continue;
      const old = view.rollouts.get(service)?.value ?? { haltedRevision: null, previousRevision: null };
      if (old.haltedRevision === spec.value.revision) continue;
      out.push({ service, record: { ...old, haltedRevision: spec.value.revision } });
    }
    return out;
  }

  /** Services rolling out with a new instance not healthy for update.healthyDeadlineMs. */
  private pastHealthyDeadline(view: ServicesView, now: number): string[] {
    const late = new Set<string>();
    const seen = new Set<string>();
    for (const [id, p] of view.placements) {
      const spec = view.specs.get(p.value.service)?.value;
      if (spec === undefined || p.value.revision !== spec.revision) continue;
      const rolling = [...view.placements.values()].some((o) => o.value.service === p.value.service && o.value.revision !== spec.revision);
      if (!rolling || view.instances.get(id)?.value.healthy === true) continue;
      seen.add(id);
      const since = this.unhealthySince.get(id) ?? now;
      this.unhealthySince.set(id, since);
      if (now - since >= spec.spec.update.healthyDeadlineMs) late.add(p.value.service);
    }
    for (const id of this.unhealthySince.keys()) if (!seen.has(id)) this.unhealthySince.delete(id);
    return [...late];
  }

  private async writeEvents(events: readonly EventRecord[]): Promise<void> {
    const keys = this.o.replica.localPrefix(EVENT_PREFIX);
    const last = keys.length === 0 ? 0 : eventSeq(keys[keys.length - 1]!.key);
    await this.o.replica.propose({ type: "txn", ...eventsTxn(last, keys.length, events) });
    for (const e of events) this.o.logger.info({ event: e.type, service: e.service, targetNode: e.node, instance: e.instance }, e.message);
  }
}

/**
 * Appends `events` after sequence `lastSeq` (with `stored` events kept now) and deletes the oldest
 * beyond MAX_EVENTS. Guarded on the next sequence being free: two rounds (or leaders) never write
 * the same number.
 */
export function eventsTxn(lastSeq: number, stored: number, events: readonly EventRecord[]): TxnRequest {
  const ops: TxnOp[] = events.map((e, k) => ({ type: "put", key: eventKey(lastSeq + 1 + k), value: encodeRecord(e) }));
  if (stored + events.length > MAX_EVENTS) ops.push({ type: "delete", key: EVENT_PREFIX, rangeEnd: eventKey(lastSeq + 1 + events.length - MAX_EVENTS) });
  return { compares: [{ key: eventKey(lastSeq + 1), target: "version", op: "=", value: 0 }], success: ops, failure: [] };
}

/** The plan as one guarded txn. */
export function planTxn(view: ServicesView, plan: Plan, ids: readonly string[], forget: readonly string[], halts: readonly { service: string; record: RolloutRecord }[]): TxnRequest {
  const compares: TxnRequest["compares"][number][] = [];
  const ops: TxnOp[] = [];
  for (const s of view.specs.values()) compares.push({ key: s.key, target: "modRevision", op: "=", value: s.modRevision });
  let budget = MAX_PLACEMENT_CHANGES_PER_ROUND;
  plan.start.forEach((s, k) => {
    if (budget-- <= 0) return;
    const id = ids[k]!;
    const key = placementKey(Number(s.node), id);
    const record: PlacementRecord = { service: s.service, instanceId: id, revision: s.revision };
    compares.push({ key, target: "version", op: "=", value: 0 });
    ops.push({ type: "put", key, value: encodeRecord(record) });
  });
  for (const id of [...plan.stop.map((s) => s.instance), ...forget]) {
    const p = view.placements.get(id);
    if (p === undefined || budget-- <= 0) continue; // a "stopping" report without placement: the agent is on it
    compares.push({ key: p.key, target: "modRevision", op: "=", value: p.modRevision });
    ops.push({ type: "delete", key: p.key });
  }
  for (const h of halts) ops.push({ type: "put", key: rolloutKey(h.service), value: encodeRecord(h.record) });
  // Spec compares come first; beyond the txn bound, the placement guards still hold (specs are at most 64 per apply).
  return { compares: compares.slice(0, 128), success: ops, failure: [] };
}

/** The range of every event key (for reads). */
export const EVENT_RANGE = { key: EVENT_PREFIX, rangeEnd: prefixEnd(EVENT_PREFIX) };
