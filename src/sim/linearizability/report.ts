// Explains a linearizability violation of the register history in a few lines: the operation the
// search could not get past, the operations on its key that finished just before it was called,
// and those that overlapped it.
import type { Operation } from "./model.js";
import { describeRegisterOp } from "./register-model.js";
import type { RegisterInput, RegisterOutput } from "./register-model.js";

/** Operations listed before and around the blocking one, at most. */
export const REPORT_CONTEXT_OPS = 6;

type RegisterOp = Operation<RegisterInput, RegisterOutput>;

function ms(us: number): string {
  return Number.isFinite(us) ? `${(us / 1000).toFixed(3)}ms` : "never";
}

function line(op: RegisterOp): string {
  return `client ${op.clientId} ${describeRegisterOp(op.input, op.output)} [${ms(op.callTime)} .. ${ms(op.returnTime)}]`;
}

/** A few lines locating the anomaly around `blocking` in the history of `key`. */
export function explainRegisterViolation(history: readonly RegisterOp[], key: string, blocking: RegisterOp | null): string {
  if (blocking === null) return "";
  const same = history.filter((op) => op.input.key === key && op !== blocking);
  const before = same.filter((op) => op.returnTime < blocking.callTime)
    .sort((a, b) => a.returnTime - b.returnTime).slice(-REPORT_CONTEXT_OPS);
  const overlapping = same.filter((op) => op.returnTime >= blocking.callTime && op.callTime <= blocking.returnTime)
    .sort((a, b) => a.callTime - b.callTime).slice(0, REPORT_CONTEXT_OPS);
  return [
    `  cannot linearize past: ${line(blocking)}`,
    ...before.map((op) => `    finished before it: ${line(op)}`),
    ...overlapping.map((op) => `    overlapping it:     ${line(op)}`),
  ].join("\n");
}
