// The part of a simulated world that both simulators (the register one here, the KV one in kv/)
// share: the agenda that carries virtual time, the running schedule hash, and the time-keeping and
// trace calls their node shells, workloads and nemeses make. Each simulation extends it with its
// cluster, its checkers and the handling of its own events.
import { Agenda } from "./agenda.js";
import type { ClockedNode } from "./agenda.js";
import { ScheduleHash } from "./schedule-hash.js";
import { formatTimeUs } from "./trace-format.js";

/** What a schedule's result says about its clients, whatever their protocol. */
export interface ClientTally {
  readonly history: readonly unknown[];
  readonly acknowledged: number;
  readonly timedOut: number;
}

/** The part of a schedule's result both simulators report, in their result's key order. */
export interface ScheduleStats {
  readonly events: number;
  readonly virtualUs: number;
  /** Hash of everything that happened: equal for two runs of the same seed. */
  readonly hash: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly timedOut: number;
}

/** Base of a simulation whose nodes are `N` and whose own agenda events are `X`. */
export abstract class ScheduleWorld<N extends ClockedNode, X extends { readonly kind: string }> {
  protected readonly agenda = new Agenda<N, X>((ev) => this.dispatch(ev));
  protected readonly hash = new ScheduleHash();

  /** `traceSink` receives a readable trace line per notable event when set. */
  constructor(private readonly traceSink: ((line: string) => void) | undefined) {}

  /** Handles one of the simulation's own events when its time comes. */
  protected abstract dispatch(ev: X): void;

  /** Runs `fn` at absolute virtual time `timeUs`. */
  at(timeUs: number, fn: () => void): void {
    this.agenda.at(timeUs, fn);
  }

  /** Runs `fn` after `delayUs`. */
  after(delayUs: number, fn: () => void): void {
    this.agenda.after(delayUs, fn);
  }

  /** Runs `fn` after `delayUs` unless `node` crashed in between. */
  later(node: N, delayUs: number, fn: () => void): void {
    this.agenda.later(node, delayUs, fn);
  }

  /** Virtual time in microseconds. */
  nowUs(): number {
    return this.agenda.nowUs;
  }

  /** Writes one trace line stamped with the virtual time (nothing when not tracing). */
  trace(line: string): void {
    this.traceSink?.(`${formatTimeUs(this.agenda.nowUs)} ${line}`);
  }

  /** The counts and hash of the schedule so far, with `clients`' tally. */
  protected scheduleStats(clients: ClientTally): ScheduleStats {
    return {
      events: this.agenda.events,
      virtualUs: this.agenda.nowUs,
      hash: this.hash.value,
      operations: clients.history.length,
      acknowledged: clients.acknowledged,
      timedOut: clients.timedOut,
    };
  }

  /** An exception that is no checker's finding: a broken assertion in the code under test. */
  protected coreInvariantViolation(err: unknown): { readonly checker: "core-invariant"; readonly message: string; readonly timeUs: number } {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { checker: "core-invariant", message, timeUs: this.agenda.nowUs };
  }

  /** Mixes one happening into the schedule hash. */
  protected mix(a: number, b: number): void {
    this.hash.mix(a, b, this.agenda.nowUs);
  }
}
