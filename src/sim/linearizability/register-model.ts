// The key-value register model the simulator's clients exercise: per key, read, write and
// compare-and-swap over numeric values (null: never written).
import type { Model } from "./model.js";

/** A register value: a unique number per write, or null before the first write. */
export type RegisterValue = number | null;

/** An operation a client asks of the store. */
export type RegisterInput =
  | { readonly kind: "read"; readonly key: string }
  | { readonly kind: "write"; readonly key: string; readonly value: number }
  | { readonly kind: "cas"; readonly key: string; readonly expected: RegisterValue; readonly value: number };

/** What the store answered. */
export type RegisterOutput =
  | { readonly kind: "read"; readonly value: RegisterValue }
  | { readonly kind: "write" }
  | { readonly kind: "cas"; readonly ok: boolean };

/** A register per key with read, write and compare-and-swap. */
export const registerModel: Model<RegisterValue, RegisterInput, RegisterOutput> = {
  init: () => null,
  partitionKey: (input) => input.key,
  step(state, input, output) {
    switch (input.kind) {
      case "read":
        if (output === null) return { ok: true, state };
        return { ok: output.kind === "read" && output.value === state, state };
      case "write":
        return { ok: output === null || output.kind === "write", state: input.value };
      case "cas": {
        const matches = state === input.expected;
        if (output === null) return { ok: true, state: matches ? input.value : state };
        if (output.kind !== "cas") return { ok: false, state };
        if (output.ok) return { ok: matches, state: matches ? input.value : state };
        return { ok: !matches, state };
      }
    }
  },
};

/** A short human-readable form of one operation, for violation reports. */
export function describeRegisterOp(input: RegisterInput, output: RegisterOutput | null): string {
  const out = output === null ? "?" : output.kind === "read" ? String(output.value) : output.kind === "cas" ? String(output.ok) : "ok";
  switch (input.kind) {
    case "read": return `read(${input.key}) -> ${out}`;
    case "write": return `write(${input.key}, ${input.value}) -> ${out}`;
    case "cas": return `cas(${input.key}, ${String(input.expected)}, ${input.value}) -> ${out}`;
  }
}
