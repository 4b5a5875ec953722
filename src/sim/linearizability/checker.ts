// A linearizability checker after Wing & Gong, Lowe, and Porcupine (Athalye): the history becomes a
// doubly linked list of call and return events in time order; a depth-first search tries to
// linearize, at each step, some operation whose call precedes the first pending return. The search
// memoizes (set of linearized operations, model state) pairs so no configuration is explored twice,
// and it backtracks when it reaches a return whose operation is not yet linearized. The history is
// first split by key (P-compositionality). An operation that never returned has its return at
// infinity, so it may be linearized anywhere after its call, or (placed last) not at all.
import type { CheckVerdict, Model, Operation } from "./model.js";

/** How much search a check may do before giving up with "unknown". */
export const DEFAULT_MAX_STEPS_PER_KEY = 2_000_000;

/** The outcome of a check, with the key whose sub-history failed (or ran out of budget). */
export interface CheckResult<I = unknown, O = unknown> {
  readonly verdict: CheckVerdict;
  /** The partition that was illegal or undecided; null when the verdict is "ok". */
  readonly key: string | null;
  /** Search steps taken over all partitions. */
  readonly steps: number;
  /**
   * When illegal: the operation whose return the deepest partial linearization could not get
   * past (Porcupine shows the same point): it, or something just before it, is the anomaly.
   */
  readonly blocking: Operation<I, O> | null;
}

/** Options for checkLinearizable. */
export interface CheckOptions {
  /** Search steps allowed per partition before the verdict becomes "unknown". */
  readonly maxStepsPerKey?: number;
}

interface EventNode {
  readonly opIndex: number; // -1 for the list head
  readonly time: number;
  readonly isCall: boolean;
  match: EventNode | null; // a call's return event; null for return events
  prev: EventNode | null;
  next: EventNode | null;
}

function makeEventList<I, O>(ops: readonly Operation<I, O>[]): EventNode {
  const events: EventNode[] = [];
  ops.forEach((op, opIndex) => {
    if (!(op.returnTime >= op.callTime)) {
      throw new Error(`Cannot check operation ${opIndex}: it returns (${op.returnTime}) before it is called (${op.callTime})`);
    }
    const ret: EventNode = { opIndex, time: op.returnTime, isCall: false, match: null, prev: null, next: null };
    const call: EventNode = { opIndex, time: op.callTime, isCall: true, match: ret, prev: null, next: null };
    events.push(call, ret);
  });
  // Calls sort before returns at the same instant, so operations that touch are concurrent.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.opIndex - b.opIndex : a.isCall ? -1 : 1));
  const head: EventNode = { opIndex: -1, time: -Infinity, isCall: false, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

// Removes a call and its return from the list; unlift puts them back exactly where they were.
function lift(call: EventNode): void {
  const ret = call.match as EventNode;
  (call.prev as EventNode).next = call.next;
  (call.next as EventNode).prev = call.prev;
  (ret.prev as EventNode).next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(call: EventNode): void {
  const ret = call.match as EventNode;
  (ret.prev as EventNode).next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  (call.prev as EventNode).next = call;
  (call.next as EventNode).prev = call;
}

// Zobrist-style hashing: each operation has a fixed pseudo-random word; a set hashes to their XOR.
function opHash(i: number): number {
  let z = Math.imul(i + 0x7f4a7c15, 0x9e3779b1);
  z = Math.imul(z ^ (z >>> 15), 0x85ebca6b);
  return (z ^ (z >>> 13)) >>> 0;
}

function stateHash(state: string | number | null): number {
  if (state === null) return 0x5bd1e995;
  if (typeof state === "number") return opHash((state | 0) ^ Math.floor(state / 0x100000000)) ^ 0x27d4eb2f;
  let h = 0x811c9dc5;
  for (let i = 0; i < state.length; i++) h = Math.imul(h ^ state.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

interface CacheEntry<S> {
  readonly bits: Uint32Array;
  readonly state: S;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks one partition; returns the verdict and the steps taken. */
export function checkPartition<S extends string | number | null, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  maxSteps: number,
): { verdict: CheckVerdict; steps: number; blocking: number } {
  const head = makeEventList(ops);
  const bits = new Uint32Array(Math.ceil(ops.length / 32) + 1);
  const cache = new Map<number, CacheEntry<S>[]>();
  const calls: { entry: EventNode; state: S }[] = [];
  let state = model.init();
  let setHash = 0;
  let steps = 0;
  let deepest = -1;
  let blocking = -1;
  let entry = head.next;
  while (head.next !== null && entry !== null) {
    if (++steps > maxSteps) return { verdict: "unknown", steps, blocking: -1 };
    if (entry.isCall) {
      const op = ops[entry.opIndex] as Operation<I, O>;
      const result = model.step(state, op.input, op.output);
      if (result.ok) {
        const word = entry.opIndex >>> 5;
        const mask = 1 << (entry.opIndex & 31);
        (bits[word] as number) |= mask;
        const newHash = (setHash ^ opHash(entry.opIndex)) >>> 0;
        const key = (newHash ^ stateHash(result.state)) >>> 0;
        const bucket = cache.get(key);
        const seen = bucket !== undefined && bucket.some((c) => c.state === result.state && sameBits(c.bits, bits));
        if (!seen) {
          const fresh = { bits: bits.slice(), state: result.state };
          if (bucket === undefined) cache.set(key, [fresh]);
          else bucket.push(fresh);
          calls.push({ entry, state });
          state = result.state;
          setHash = newHash;
          lift(entry);
          entry = head.next;
          continue;
        }
        (bits[word] as number) &= ~mask;
      }
      entry = entry.next;
    } else {
      // A return whose operation is not linearized yet: undo the most recent choice.
      if (calls.length > deepest) {
        deepest = calls.length;
        blocking = entry.opIndex;
      }
      const top = calls.pop();
      if (top === undefined) return { verdict: "illegal", steps, blocking };
      entry = top.entry;
      state = top.state;
      (bits[entry.opIndex >>> 5] as number) &= ~(1 << (entry.opIndex & 31));
      setHash = (setHash ^ opHash(entry.opIndex)) >>> 0;
      unlift(entry);
      entry = entry.next;
    }
  }
  return { verdict: "ok", steps, blocking: -1 };
}

/** Checks that a concurrent history is linearizable with respect to `model`, partition by partition. */
export function checkLinearizable<S extends string | number | null, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  const maxSteps = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    const key = model.partitionKey(op.input);
    const list = partitions.get(key);
    if (list === undefined) partitions.set(key, [op]);
    else list.push(op);
  }
  let steps = 0;
  let undecided: string | null = null;
  for (const key of [...partitions.keys()].sort()) {
    const ops = partitions.get(key) as Operation<I, O>[];
    const result = checkPartition(model, ops, maxSteps);
    steps += result.steps;
    if (result.verdict === "illegal") return { verdict: "illegal", key, steps, blocking: ops[result.blocking] ?? null };
    if (result.verdict === "unknown" && undecided === null) undecided = key;
  }
  return { verdict: undecided === null ? "ok" : "unknown", key: undecided, steps, blocking: null };
}
