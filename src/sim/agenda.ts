// The agenda both simulators (the register one here, the KV one in kv/) drive a schedule with:
// virtual time, the event queue, and the events every schedule has whatever it simulates (plain
// calls, node timers that a crash cancels, node clock ticks). Each simulator hands the rest of its
// events (deliveries, client requests and replies) to its own handler. Keeping one loop keeps the
// two simulators' notion of time, event order and runaway bound the same.
import { EventQueue } from "./event-queue.js";

/** Events one schedule may process before it is declared runaway. */
export const MAX_EVENTS_PER_SCHEDULE = 3_000_000;

/** What the agenda needs of a simulated node: its life counter and its clock. */
export interface ClockedNode {
  /** Bumped at every crash so that timers of a previous life are ignored. */
  readonly incarnation: number;
  readonly up: boolean;
  tick(): void;
}

/** Where the agenda reports a schedule that cannot go on (a liveness violation; never returns). */
export interface LivenessReporter {
  now: number;
  report(checker: "liveness", message: string): never;
}

/** Events the agenda handles itself. The frequent ones are plain records (no closure per tick). */
type AgendaEvent<N extends ClockedNode> =
  | { readonly kind: "call"; readonly fn: () => void }
  | { readonly kind: "later"; readonly node: N; readonly incarnation: number; readonly fn: () => void }
  | { readonly kind: "tick"; readonly node: N; readonly incarnation: number; readonly intervalUs: number };

/** One schedule's virtual time and queue; `X` are the simulator's own events (kinds other than call, later and tick). */
export class Agenda<N extends ClockedNode, X extends { readonly kind: string }> {
  private readonly queue = new EventQueue<AgendaEvent<N> | X>();
  private now = 0;
  private processed = 0;

  constructor(private readonly handle: (event: X) => void) {}

  /** Virtual time in microseconds. */
  get nowUs(): number {
    return this.now;
  }

  /** Events processed so far. */
  get events(): number {
    return this.processed;
  }

  /** Queues one of the simulator's own events at absolute virtual time `timeUs`. */
  push(timeUs: number, event: X): void {
    this.queue.push(timeUs, event);
  }

  /** Runs `fn` at absolute virtual time `timeUs` (now if that is past). */
  at(timeUs: number, fn: () => void): void {
    this.queue.push(Math.max(timeUs, this.now), { kind: "call", fn });
  }

  /** Runs `fn` after `delayUs`. */
  after(delayUs: number, fn: () => void): void {
    this.queue.push(this.now + delayUs, { kind: "call", fn });
  }

  /** Runs `fn` after `delayUs` unless `node` crashed (or is down) by then. */
  later(node: N, delayUs: number, fn: () => void): void {
    this.queue.push(this.now + delayUs, { kind: "later", node, incarnation: node.incarnation, fn });
  }

  /** Starts `node`'s clock: a first tick after `firstDelayUs`, then one every `intervalUs` of this life. */
  startClock(node: N, firstDelayUs: number, intervalUs: number): void {
    this.queue.push(this.now + firstDelayUs, { kind: "tick", node, incarnation: node.incarnation, intervalUs });
  }

  /** Processes events in time order until `finished()` holds; a dry queue or a runaway schedule is reported. */
  runUntil(finished: () => boolean, reporter: LivenessReporter): void {
    while (!finished()) {
      const next = this.queue.pop();
      if (next === undefined) reporter.report("liveness", "the event queue ran dry before the cluster settled");
      this.now = next.timeUs;
      reporter.now = next.timeUs;
      if (++this.processed > MAX_EVENTS_PER_SCHEDULE) {
        reporter.report("liveness", `more than ${MAX_EVENTS_PER_SCHEDULE} events: a runaway schedule`);
      }
      this.dispatch(next.event);
    }
  }

  private dispatch(ev: AgendaEvent<N> | X): void {
    if (isCall(ev)) {
      ev.fn();
    } else if (isLater<N>(ev)) {
      if (ev.node.incarnation === ev.incarnation && ev.node.up) ev.fn();
    } else if (isTick<N>(ev)) {
      if (ev.node.incarnation !== ev.incarnation || !ev.node.up) return;
      ev.node.tick();
      this.queue.push(this.now + ev.intervalUs, ev);
    } else {
      this.handle(ev as X);
    }
  }
}

function isCall(ev: { readonly kind: string }): ev is Extract<AgendaEvent<ClockedNode>, { kind: "call" }> {
  return ev.kind === "call";
}

function isLater<N extends ClockedNode>(ev: { readonly kind: string }): ev is Extract<AgendaEvent<N>, { kind: "later" }> {
  return ev.kind === "later";
}

function isTick<N extends ClockedNode>(ev: { readonly kind: string }): ev is Extract<AgendaEvent<N>, { kind: "tick" }> {
  return ev.kind === "tick";
}
