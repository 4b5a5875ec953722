// The history of a Jepsen-style run as the client workers record it (one JSON object per line,
// times in ms of the machine's monotonic clock, which every namespace shares), and its check with
// the project's linearizability checker (src/sim/linearizability). Pure: no I/O.
//
// What goes into the check: every answered operation as answered; every write or CAS whose outcome
// is unknown (timeout, unknown_outcome, a relay cut off) open-ended — it may or may not have taken
// effect, at any time after its call; operations refused with a code that proves they never reached
// the log (SDK: isSafeToRetry) and reads without an answer are left out. A refused write that was in
// fact applied therefore shows up too: its unique value can then be read although nothing wrote it.
import { checkLinearizable } from "../../src/sim/linearizability/checker.js";
import type { CheckResult } from "../../src/sim/linearizability/checker.js";
import type { Operation } from "../../src/sim/linearizability/model.js";
import { registerModel } from "../../src/sim/linearizability/register-model.js";
import type { RegisterInput, RegisterOutput } from "../../src/sim/linearizability/register-model.js";
import { explainRegisterViolation } from "../../src/sim/linearizability/report.js";

export type RegisterOp = Operation<RegisterInput, RegisterOutput>;

/** One recorded operation (a line of a worker's history file). */
export interface RecordedOp {
  /** Client id, unique over every worker of a run. */
  readonly client: number;
  readonly input: RegisterInput;
  /** "ok": answered (output set); "fail": certainly not applied (code says why); "info": outcome unknown. */
  readonly type: "ok" | "fail" | "info";
  readonly output?: RegisterOutput;
  /** The error code of a fail or info. */
  readonly code?: string;
  /** Monotonic ms when the client called. */
  readonly callMs: number;
  /** Monotonic ms when the answer (or the error) came. */
  readonly returnMs: number;
}

/** Parses the lines of history files; throws on a line that is not a record. */
export function parseHistory(text: string): RecordedOp[] {
  const out: RecordedOp[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const op = JSON.parse(line) as RecordedOp;
    if (typeof op.client !== "number" || typeof op.callMs !== "number" || !["ok", "fail", "info"].includes(op.type) || typeof op.input?.key !== "string") {
      throw new Error(`Cannot read history line ${i + 1}: not an operation record: ${line.slice(0, 120)}`);
    }
    out.push(op);
  }
  return out;
}

/** The checker's reports print times as µs (the simulator's unit). */
const US_PER_MS = 1000;

/** The operations the linearizability checker sees (see the file comment); times in µs. */
export function toCheckedHistory(recorded: readonly RecordedOp[]): RegisterOp[] {
  const ops: RegisterOp[] = [];
  for (const r of recorded) {
    if (r.type === "ok") {
      if (r.output === undefined) throw new Error(`Cannot check: client ${r.client}'s answered ${r.input.kind} on ${r.input.key} has no output`);
      ops.push({ clientId: r.client, input: r.input, output: r.output, callTime: r.callMs * US_PER_MS, returnTime: r.returnMs * US_PER_MS });
    } else if (r.type === "info" && r.input.kind !== "read") {
      ops.push({ clientId: r.client, input: r.input, output: null, callTime: r.callMs * US_PER_MS, returnTime: Infinity });
    }
  }
  return ops;
}

/** Counts of a history by kind and outcome. */
export interface HistoryCounts {
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  /** e.g. "write ok", "cas ok swapped", "read fail no_leader", "cas info unknown_outcome". */
  readonly byKind: Readonly<Record<string, number>>;
}

export function countHistory(recorded: readonly RecordedOp[]): HistoryCounts {
  const byKind: Record<string, number> = {};
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const r of recorded) {
    if (r.type === "ok") ok++;
    else if (r.type === "fail") fail++;
    else info++;
    const detail = r.type === "ok" ? (r.output?.kind === "cas" ? (r.output.ok ? " swapped" : " compare-failed") : "") : ` ${r.code ?? "?"}`;
    const name = `${r.input.kind} ${r.type}${detail}`;
    byKind[name] = (byKind[name] ?? 0) + 1;
  }
  return { ok, fail, info, byKind };
}

/** The checker's verdict with a few lines explaining a violation. */
export interface HistoryVerdict {
  readonly result: CheckResult<RegisterInput, RegisterOutput>;
  /** Empty when linearizable. */
  readonly explanation: string;
  /** Operations checked (answered + open-ended writes). */
  readonly checkedOps: number;
}

/** Checks a recorded history for linearizability (a register per key with read, write and CAS). */
export function checkHistory(recorded: readonly RecordedOp[], options: { maxStepsPerKey?: number } = {}): HistoryVerdict {
  const ops = toCheckedHistory(recorded);
  const result = checkLinearizable(registerModel, ops, options);
  const explanation = result.verdict === "illegal" && result.key !== null ? explainRegisterViolation(ops, result.key, result.blocking) : "";
  return { result, explanation, checkedOps: ops.length };
}
