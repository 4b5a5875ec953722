// The sequential specification a history is checked against, in the shape Porcupine uses: an
// initial state and a step function that says whether an operation with a given output is legal
// in a state, and what state follows. A null output means the operation never returned (it timed
// out), so any output is acceptable and it may or may not have taken effect.

/** A sequential specification. States must be primitives so they compare with === and hash cheaply. */
export interface Model<State extends string | number | null, Input, Output> {
  /** The state before any operation. */
  init(): State;
  /** Whether `input` returning `output` (null: unknown) is legal in `state`, and the state after it. */
  step(state: State, input: Input, output: Output | null): { readonly ok: boolean; readonly state: State };
  /** Splits a history into independent sub-histories (P-compositionality), e.g. one per key. */
  partitionKey(input: Input): string;
}

/** One operation of a concurrent history. `returnTime` is Infinity when the operation never returned. */
export interface Operation<Input, Output> {
  readonly clientId: number;
  readonly input: Input;
  /** null when the operation timed out: it may or may not have taken effect. */
  readonly output: Output | null;
  readonly callTime: number;
  readonly returnTime: number;
}

/** The verdict of a check: "unknown" when the search bound was reached before an answer. */
export type CheckVerdict = "ok" | "illegal" | "unknown";
