// The per-key register the KV history is checked against: the existing register model extended by
// one thing the KV store has and a plain register lacks, a delete (a write of null). Put is a write
// of a unique value, a linearizable range of one key is a read, a txn "compare value (or version 0)
// then put" is a compare-and-swap. The search itself is the simulator's checker (../linearizability).
import type { Model } from "../linearizability/model.js";
import { describeRegisterOp, registerModel } from "../linearizability/register-model.js";
import type { RegisterInput, RegisterOutput, RegisterValue } from "../linearizability/register-model.js";

/** A KV operation as a register operation: the register's own, or a delete. */
export type KvRegisterInput = RegisterInput | { readonly kind: "delete"; readonly key: string };
/** What the store answered (a delete answers like a write). */
export type KvRegisterOutput = RegisterOutput;

/** The register model with deletes. */
export const kvRegisterModel: Model<RegisterValue, KvRegisterInput, KvRegisterOutput> = {
  init: () => null,
  partitionKey: (input) => input.key,
  step(state, input, output) {
    if (input.kind === "delete") return { ok: output === null || output.kind === "write", state: null };
    return registerModel.step(state, input, output);
  },
};

/** A short readable form of one operation, for violation reports. */
export function describeKvOp(input: KvRegisterInput, output: KvRegisterOutput | null): string {
  if (input.kind === "delete") return `delete(${input.key}) -> ${output === null ? "?" : "ok"}`;
  return describeRegisterOp(input, output);
}
