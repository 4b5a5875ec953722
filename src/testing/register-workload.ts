// A register workload for the real-process tests: clients run reads, blind writes and
// compare-and-swaps on a few keys through the SDK and record each operation with its call and
// return times, for the linearizability checker (src/sim/linearizability). What the tests vary —
// how operations are drawn, how each client is made, what a failure means — comes in as options.
import type { PhalanxClient } from "../client/client.js";
import { PhalanxError } from "../client/errors.js";
import { seededRandom } from "../kv/testkit.js";
import type { Operation } from "../sim/linearizability/model.js";
import type { RegisterInput, RegisterOutput } from "../sim/linearizability/register-model.js";

export type RegisterOp = Operation<RegisterInput, RegisterOutput>;

/** A failed operation either certainly did not happen (left out of the history) or may have (recorded open-ended). */
export type FailureVerdict = "refused" | "unknown";

/** Pause of a client after a failed operation. */
export const PAUSE_AFTER_FAILURE_MS = 20;

export interface RegisterWorkloadOptions {
  readonly clients: number;
  /** Client `k` draws from seededRandom(seed × 100 + k). */
  readonly seed: number;
  /** Client `clientId`'s SDK client (the workload closes it). */
  client(clientId: number): PhalanxClient;
  /** A client's next operation; `nextValue()` hands out a value no other operation writes. */
  next(random: () => number, clientId: number, nextValue: () => number): RegisterInput;
  /** What a failure means for the history (the hook may also rotate the client or learn from it). */
  failed(err: PhalanxError, input: RegisterInput, client: PhalanxClient, clientId: number): FailureVerdict;
  /** Told every answered operation. */
  answered?(op: RegisterOp): void;
}

export interface RegisterWorkload {
  /** Stops every client and returns the history: answered operations and open-ended ones. */
  stop(): Promise<RegisterOp[]>;
  /** Writes and swaps acknowledged so far. */
  acknowledgedWrites(): number;
  /** The clock of the history (ms since the workload started). */
  now(): number;
}

/** Runs one register operation through the SDK. */
export async function performRegisterOp(client: PhalanxClient, input: RegisterInput): Promise<RegisterOutput> {
  if (input.kind === "read") {
    const v = (await client.get(input.key)).kvs[0]?.value;
    return { kind: "read", value: v === undefined ? null : Number(v) };
  }
  if (input.kind === "write") {
    await client.put(input.key, String(input.value));
    return { kind: "write" };
  }
  return { kind: "cas", ok: await client.compareAndSwap(input.key, input.expected === null ? null : String(input.expected), String(input.value)) };
}

/** Starts `clients` clients that run operations until stop(). */
export function startRegisterWorkload(o: RegisterWorkloadOptions): RegisterWorkload {
  const history: RegisterOp[] = [];
  let running = true;
  let lastValue = 0;
  let acked = 0;
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const nextValue = (): number => ++lastValue;

  const worker = async (clientId: number): Promise<void> => {
    const random = seededRandom(o.seed * 100 + clientId);
    const client = o.client(clientId);
    try {
      while (running) {
        const input = o.next(random, clientId, nextValue);
        const callTime = now();
        try {
          const output = await performRegisterOp(client, input);
          if (output.kind === "write" || (output.kind === "cas" && output.ok)) acked++;
          const op: RegisterOp = { clientId, input, output, callTime, returnTime: now() };
          history.push(op);
          o.answered?.(op);
        } catch (err) {
          if (!(err instanceof PhalanxError)) throw err;
          // A read without an answer had no effect: only writes may be open-ended.
          if (o.failed(err, input, client, clientId) === "unknown" && input.kind !== "read") {
            history.push({ clientId, input, output: null, callTime, returnTime: Infinity });
          }
          await new Promise((r) => setTimeout(r, PAUSE_AFTER_FAILURE_MS));
        }
      }
    } finally {
      await client.close();
    }
  };
  const workers = Array.from({ length: o.clients }, (_, i) => worker(i + 1));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return history;
    },
    acknowledgedWrites: () => acked,
    now,
  };
}
