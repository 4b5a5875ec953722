// A deliberately naive linearizability checker used only to cross-check the real one on small
// histories: it tries every subset of the timed-out operations (a timed-out operation may not have
// happened at all) and every total order of the chosen operations that respects real time.
import type { Model, Operation } from "./model.js";

/** Largest history the brute-force checker accepts (it is exponential). */
export const BRUTE_FORCE_MAX_OPS = 9;

/** True when some legal sequential order of some subset of timed-out operations explains the history. */
export function bruteForceLinearizable<S extends string | number | null, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
): boolean {
  if (history.length > BRUTE_FORCE_MAX_OPS) {
    throw new Error(`Cannot brute-force a history of ${history.length} operations: the limit is ${BRUTE_FORCE_MAX_OPS}`);
  }
  const unknown = history.map((op, i) => (op.output === null ? i : -1)).filter((i) => i >= 0);
  for (let mask = 0; mask < 1 << unknown.length; mask++) {
    const omitted = new Set(unknown.filter((_, bit) => (mask & (1 << bit)) !== 0));
    const chosen = history.filter((_, i) => !omitted.has(i));
    if (someOrderIsLegal(model, chosen, new Array<boolean>(chosen.length).fill(false), model.init(), 0)) return true;
  }
  return false;
}

function someOrderIsLegal<S extends string | number | null, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  placed: boolean[],
  state: S,
  count: number,
): boolean {
  if (count === ops.length) return true;
  for (let i = 0; i < ops.length; i++) {
    if (placed[i]) continue;
    const op = ops[i] as Operation<I, O>;
    // op may go next only if no unplaced operation returned strictly before op was called.
    const blocked = ops.some((other, j) => !placed[j] && j !== i && other.returnTime < op.callTime);
    if (blocked) continue;
    const result = model.step(state, op.input, op.output);
    if (!result.ok) continue;
    placed[i] = true;
    const found = someOrderIsLegal(model, ops, placed, result.state, count + 1);
    placed[i] = false;
    if (found) return true;
  }
  return false;
}
