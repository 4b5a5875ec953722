// Judging a real run from the instances' own records, as the issue asks (not from Phalanx's view):
// each test instance appends one line when it starts and when it stops acting as active, stamped
// with the machine's monotonic clock (the same clock for every process of one machine, so records
// of instances on one host compare directly). This reads such logs and finds overlaps and tokens
// that do not grow — the real-process twin of the simulator's checkers. Line format:
//   start <instance> <token> <monotonicNs>
//   stop <instance> <monotonicNs>
// An instance killed with SIGKILL writes no stop line: `endsNs` (when the run observed its death)
// closes what is left open.
// Pure.

/** One stretch of acting of one instance. */
export interface ActingRecord {
  readonly instance: string;
  readonly token: number;
  readonly startNs: bigint;
  /** null: never closed (still acting at the end of the log). */
  readonly endNs: bigint | null;
}

/** What the log shows. */
export interface ActingReport {
  readonly intervals: readonly ActingRecord[];
  /** Pairs of intervals of different instances that overlap in time. */
  readonly overlaps: readonly (readonly [ActingRecord, ActingRecord])[];
  /** Intervals whose token is not above every earlier interval's of another instance. */
  readonly staleTokens: readonly ActingRecord[];
  /** Lines that are not records. */
  readonly badLines: readonly string[];
}

/** Bound on the lines read (a runaway instance must not exhaust the checker). */
export const MAX_ACTING_LOG_LINES = 1_000_000;

/** Reads acting logs (the lines of every instance, in any order) and judges them. */
export function judgeActingLog(lines: readonly string[], closeOpenAtNs?: bigint): ActingReport {
  const events: { kind: "start" | "stop"; instance: string; token: number; atNs: bigint }[] = [];
  const badLines: string[] = [];
  for (const raw of lines.slice(0, MAX_ACTING_LOG_LINES)) {
    const line = raw.trim();
    if (line === "") continue;
    const parts = line.split(/\s+/);
    if (parts[0] === "start" && parts.length === 4 && /^\d+$/.test(parts[2] as string) && /^\d+$/.test(parts[3] as string)) {
      events.push({ kind: "start", instance: parts[1] as string, token: Number(parts[2]), atNs: BigInt(parts[3] as string) });
    } else if (parts[0] === "stop" && parts.length === 3 && /^\d+$/.test(parts[2] as string)) {
      events.push({ kind: "stop", instance: parts[1] as string, token: 0, atNs: BigInt(parts[2] as string) });
    } else badLines.push(line);
  }
  // Stable by time; at equal stamps a stop comes first (a handover at the same nanosecond is no overlap).
  events.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : a.kind === b.kind ? 0 : a.kind === "stop" ? -1 : 1));
  const open = new Map<string, { token: number; startNs: bigint }>();
  const intervals: ActingRecord[] = [];
  for (const e of events) {
    const current = open.get(e.instance);
    if (e.kind === "start") {
      if (current === undefined) open.set(e.instance, { token: e.token, startNs: e.atNs });
    } else if (current !== undefined) {
      intervals.push({ instance: e.instance, token: current.token, startNs: current.startNs, endNs: e.atNs });
      open.delete(e.instance);
    }
  }
  for (const [instance, o] of open) intervals.push({ instance, token: o.token, startNs: o.startNs, endNs: closeOpenAtNs ?? null });
  intervals.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const overlaps: [ActingRecord, ActingRecord][] = [];
  const staleTokens: ActingRecord[] = [];
  let highest = -Infinity;
  let highestBy: string | null = null;
  for (let i = 0; i < intervals.length; i++) {
    const a = intervals[i] as ActingRecord;
    for (let j = 0; j < i; j++) {
      const b = intervals[j] as ActingRecord;
      if (b.instance !== a.instance && (b.endNs === null || b.endNs > a.startNs)) overlaps.push([b, a]);
    }
    if (a.token < highest || (a.token === highest && highestBy !== a.instance)) staleTokens.push(a);
    if (a.token > highest) {
      highest = a.token;
      highestBy = a.instance;
    }
  }
  return { intervals, overlaps, staleTokens, badLines };
}

/** The line an instance appends when it starts acting. */
export function startLine(instance: string, token: number, atNs: bigint): string {
  return `start ${instance} ${token} ${atNs}`;
}

/** The line an instance appends when it stops acting. */
export function stopLine(instance: string, atNs: bigint): string {
  return `stop ${instance} ${atNs}`;
}
